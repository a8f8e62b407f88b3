using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IsoCluster.Grains.Hosting;

/// <summary>What every silo and cluster client needs to send and receive IsoCluster's grain messages.</summary>
public static class IsoClusterSerializationExtensions
{
    /// <summary>
    /// Registers the hooks the generated serializers call: <see cref="ChunkLeaseSerializationHooks"/> gives back a chunk
    /// buffer's reference once its bytes are copied into a message.
    /// </summary>
    public static IServiceCollection AddIsoClusterSerialization(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<ChunkLeaseSerializationHooks>();
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
