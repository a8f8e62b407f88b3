using System.Globalization;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.Grains.Hosting;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>
/// The production shape in miniature: grains on a two-silo cluster, and a stateless gateway that is only an Orleans
/// client of it. Chunk and machine grains land on either silo, so bytes cross silo boundaries on their way out.
/// </summary>
[Collection(TwoSiloClusterDefinition.Name)]
[Trait("Category", "Cluster")]
[Trait("Category", "EndToEnd")]
public sealed class TwoSiloClusterTests
{
    private const int RandomRangesPerMac = 300;

    [Fact]
    public async Task Get_RangesThroughClientModeGateway_EqualReferencePatchForBothMacs()
    {
        var image = await BootIsoImage.SharedAsync();
        var directory = Directory.CreateTempSubdirectory("isocluster-e2e-cluster-");
        try
        {
            await using var upstream = await UpstreamServer.StartAsync();
            upstream.SetFile("hook.iso", image.Bytes);
            var hardwareFile = Path.Combine(directory.FullName, "hardware.yaml");
            await File.WriteAllTextAsync(hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: upstream.Url("hook.iso")));

            var builder = new TestClusterBuilder(2);

            // The gateway joins as a separate Orleans client over TCP, like a gateway pod; the test cluster's
            // default in-memory transport is reachable only from its own client.
            builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
            builder.ConfigureHostConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>(TestMachines.BootConfiguration)
            {
                ["Hardware:File"] = hardwareFile,
                ["Iso:UpstreamUrl"] = upstream.Url("hook.iso"),
                ["Cache:ChunkSize"] = "1MiB",
            }));
            builder.AddSiloBuilderConfigurator<IsoClusterSiloConfigurator>();
            builder.AddClientBuilderConfigurator<IsoClusterClientConfigurator>();
            var cluster = builder.Build();
            try
            {
                await cluster.DeployAsync();
                Assert.Equal(2, cluster.GetActiveSilos().Count());
                var gatewayPort = cluster.Primary?.GatewayAddress?.Endpoint.Port ?? throw new InvalidOperationException("The primary silo has no gateway.");
                await using var gateway = await GatewayInstance.StartAsync(
                    [
                        "--mode", "client",
                        "--orleans-gateway-port", gatewayPort.ToString(CultureInfo.InvariantCulture),
                        "--orleans-cluster-id", cluster.Options.ClusterId,
                        "--orleans-service-id", cluster.Options.ServiceId,
                    ],
                    embeddedSilo: false);

                foreach (var (mac, seed) in new[] { (TestMachines.Mac1, 11), (TestMachines.Mac2, 12) })
                {
                    var reference = ReferencePatch.Apply(image.Bytes, image.Magic, TestMachines.KernelParams(mac));
                    var probes = RangeSampler.AroundEdges(image.Bytes.Length, image.Occurrences, image.Magic.Length, image.ChunkBoundaries)
                        .Concat(RangeSampler.Random(new Random(seed), image.Bytes.Length, RandomRangesPerMac));
                    var path = GatewayInstance.IsoPath(mac);

                    var problems = await IsoResponses.CheckRangesAsync(gateway.Client, probes.Select(probe => (path, probe, reference)));

                    Assert.True(problems.Count == 0, $"{mac}: {problems.Count} wrong ranges:{Environment.NewLine}{string.Join(Environment.NewLine, problems.Take(20))}");
                }
            }
            finally
            {
                await cluster.StopAllSilosAsync();
                await cluster.DisposeAsync();
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private sealed class IsoClusterSiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddIsoClusterGrains(siloBuilder.Configuration);
    }
}

/// <summary>
/// Tests that start a test cluster. They run after the parallel collections, alone: two silos plus a gateway on a
/// 2-core runner next to the 50-client test would starve Orleans' membership probes.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TwoSiloClusterDefinition
{
    public const string Name = "Two-silo cluster";
}
