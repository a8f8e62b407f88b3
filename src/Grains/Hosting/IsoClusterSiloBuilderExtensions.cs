using IsoCluster.Grains.Admin;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace IsoCluster.Grains.Hosting;

/// <summary>The entry point of the grains project: everything a silo needs to host IsoCluster grains.</summary>
public static class IsoClusterSiloBuilderExtensions
{
    // Orleans sizes a silo's grain directory cache for a million grains up front: two arrays of about 9 MiB each, for
    // a cluster whose grains are a fleet's machines and the chunks of a few ISO versions. Past this many entries the
    // least recently used ones are dropped, and a call to such a grain looks its silo up again (one directory request).
    private const int DirectoryCacheSize = 200_000;

    /// <summary>
    /// Registers the grains' services and options (validated at start) from <paramref name="configuration"/>.
    /// Membership comes from <see cref="IsoClusterClusteringExtensions.UseIsoClusterClustering(ISiloBuilder, IConfiguration)"/>.
    /// </summary>
    public static ISiloBuilder AddIsoClusterGrains(this ISiloBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var services = builder.Services;
        services.Configure<GrainDirectoryOptions>(static options => options.CacheSize = DirectoryCacheSize);
        services.AddOptions<IsoOptions>().Bind(configuration.GetSection(IsoOptions.SectionName)).ValidateOnStart();
        services.AddOptions<CacheOptions>().Bind(configuration.GetSection(CacheOptions.SectionName)).ValidateOnStart();
        services.AddOptions<UpstreamOptions>().Bind(configuration.GetSection(UpstreamOptions.SectionName)).ValidateOnStart();
        services.AddOptions<BootOptions>().Bind(configuration.GetSection(BootOptions.SectionName)).ValidateOnStart();
        services.AddOptions<HardwareOptions>().Bind(configuration.GetSection(HardwareOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IsoOptions>, IsoOptionsValidator>();
        services.AddSingleton<IValidateOptions<CacheOptions>, CacheOptionsValidator>();
        services.AddSingleton<IValidateOptions<UpstreamOptions>, UpstreamOptionsValidator>();
        services.AddSingleton<IValidateOptions<BootOptions>, BootOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<UpstreamUrlPolicy>();
        services.AddSingleton<UpstreamAddressGuard>();
        services.AddSingleton<FileUpstream>();
        services.AddSingleton<UpstreamClient>();
        services.AddSingleton<UpstreamMetrics>();
        services.AddSingleton<ChunkMemoryBudget>();
        services.AddSingleton(static provider => ChunkBuffers.CreatePool(
            provider.GetRequiredService<IOptions<CacheOptions>>().Value,
            provider.GetRequiredService<IOptions<IsoOptions>>().Value));
        services.AddIsoClusterSerialization();
        services.AddSingleton<ChunkCacheMetrics>();
        services.AddSingleton<ChunkCacheLedger>();
        services.AddSingleton<PrewarmSource>();
        services.AddPlacementDirector<SiloKeyedPlacement, SiloKeyedPlacementDirector>();
        services.AddSingleton<BootMetrics>();
        services.AddHardwareSource();
        return builder;
    }
}
