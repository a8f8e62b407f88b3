using IsoCluster.Grains.Hosting;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>A test cluster's client set up as a client-mode gateway's is, so it can read chunk grains.</summary>
public sealed class IsoClusterClientConfigurator : IClientBuilderConfigurator
{
    /// <inheritdoc />
    public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) => clientBuilder.AddIsoClusterSerialization();
}
