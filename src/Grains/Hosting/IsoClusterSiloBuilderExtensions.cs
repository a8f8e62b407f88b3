using IsoCluster.Grains.Admin;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hosting;

/// <summary>The entry point of the grains project: everything a silo needs to host IsoCluster grains.</summary>
public static class IsoClusterSiloBuilderExtensions
{
    /// <summary>
    /// Registers the grains' services and options (validated at start) from <paramref name="configuration"/>.
    /// Membership comes from <see cref="IsoClusterClusteringExtensions.UseIsoClusterClustering(ISiloBuilder, IConfiguration)"/>.
    /// </summary>
    public static ISiloBuilder AddIsoClusterGrains(this ISiloBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var services = builder.Services;
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
