using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IsoCluster.Grains.Hosting;

/// <summary>What every silo and cluster client needs to send and receive IsoCluster's grain messages.</summary>
public static class IsoClusterSerializationExtensions
{
    /// <summary>
    /// Registers what <see cref="ChunkReadResultCodec"/> needs: the pool that chunk bytes arriving from another process
    /// are read into (<see cref="ReceivedChunkBuffers"/>).
    /// </summary>
    public static IServiceCollection AddIsoClusterSerialization(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<ReceivedChunkBuffers>();
        return services;
    }

    /// <summary>Registers what a cluster client needs to talk to IsoCluster grains (<see cref="AddIsoClusterSerialization(IServiceCollection)"/>).</summary>
    public static IClientBuilder AddIsoClusterSerialization(this IClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddIsoClusterSerialization();
        return builder;
    }
}
