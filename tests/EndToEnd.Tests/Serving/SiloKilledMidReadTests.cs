using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using IsoCluster.EndToEnd.Tests.Cluster;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.Grains.Hosting;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Serving;

/// <summary>
/// DESIGN invariant 8 with a real cluster: a silo killed while BMCs read costs no read. Two silos and a client-mode
/// gateway, eight readers reading BMC-sized ranges in a loop, and the silo that is not the primary (the primary holds
/// the test cluster's membership table) killed under them.
/// </summary>
[Collection(TwoSiloClusterDefinition.Name)]
[Trait("Category", "Cluster")]
[Trait("Category", "EndToEnd")]
public sealed class SiloKilledMidReadTests(ITestOutputHelper output)
{
    private const int Readers = 8;

    // Small chunks: many chunk grains, so the killed silo surely holds some of those being read.
    private const string ChunkSize = "128KiB";
    private const int RangeLength = 64 * 1024;
    private static readonly TimeSpan ReadBeforeKill = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReadAfterKill = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Get_SecondarySiloKilledWhileEightReadersRead_NoReadFailsAndEveryByteIsRight()
    {
        var clock = Stopwatch.StartNew();
        var image = await BootIsoImage.SharedAsync();
        var references = new Dictionary<string, byte[]>
        {
            [TestMachines.Mac1] = ReferencePatch.Apply(image.Bytes, image.Magic, TestMachines.KernelParams(TestMachines.Mac1)),
            [TestMachines.Mac2] = ReferencePatch.Apply(image.Bytes, image.Magic, TestMachines.KernelParams(TestMachines.Mac2)),
        };
        var directory = Directory.CreateTempSubdirectory("isocluster-e2e-silo-loss-");
        try
        {
            await using var upstream = await UpstreamServer.StartAsync();
            upstream.SetFile("hook.iso", image.Bytes);
            var hardwareFile = Path.Combine(directory.FullName, "hardware.yaml");
            await File.WriteAllTextAsync(hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: upstream.Url("hook.iso")));

            var builder = new TestClusterBuilder(2);
            builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
            builder.ConfigureHostConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>(TestMachines.BootConfiguration)
            {
                ["Hardware:File"] = hardwareFile,
                ["Iso:UpstreamUrl"] = upstream.Url("hook.iso"),
                ["Cache:ChunkSize"] = ChunkSize,
            }));
            builder.AddSiloBuilderConfigurator<SiloConfigurator>();
            builder.AddClientBuilderConfigurator<IsoClusterClientConfigurator>();
            var cluster = builder.Build();
            try
            {
                await cluster.DeployAsync();
                var primary = cluster.Primary ?? throw new InvalidOperationException("The test cluster has no primary silo.");
                var secondary = Assert.Single(cluster.SecondarySilos);
                var gatewayPort = primary.GatewayAddress?.Endpoint.Port ?? throw new InvalidOperationException("The primary silo has no gateway.");

                // The gateway knows only the primary's gateway port, like a gateway pod behind a stable service address.
                await using var gateway = await GatewayInstance.StartAsync(
                    [
                        "--mode", "client",
                        "--orleans-gateway-port", gatewayPort.ToString(CultureInfo.InvariantCulture),
                        "--orleans-cluster-id", cluster.Options.ClusterId,
                        "--orleans-service-id", cluster.Options.ServiceId,
                    ],
                    embeddedSilo: false);

                // Warm every chunk of the ISO and both machines' plans, so activations exist on both silos.
                foreach (var (mac, reference) in references)
                {
                    var warm = Enumerable.Range(0, (image.Bytes.Length + RangeLength - 1) / RangeLength)
                        .Select(i => (GatewayInstance.IsoPath(mac), RangeProbe.Closed((long)i * RangeLength, ((long)i * RangeLength) + RangeLength - 1, image.Bytes.Length), reference));
                    var warmProblems = await IsoResponses.CheckRangesAsync(gateway.Client, warm);
                    Assert.True(warmProblems.Count == 0, $"Warming failed: {string.Join(Environment.NewLine, warmProblems.Take(10))}");
                }

                var onSecondary = await ChunkActivationsOnAsync(cluster, secondary.SiloAddress);
                output.WriteLine($"chunk grain activations on the silo to be killed: {onSecondary}");
                Assert.True(onSecondary > 0, "The silo to be killed holds no chunk grain, so killing it proves nothing.");

                var results = new ConcurrentQueue<ReadResult>();
                using var stop = new CancellationTokenSource();
                var readers = Enumerable.Range(0, Readers)
                    .Select(i => ReadLoopAsync(gateway.CreateClient(), new Random(100 + i), references, image.Bytes.Length, clock, results, stop.Token))
                    .ToArray();

                await Task.Delay(ReadBeforeKill);
                var killedAt = clock.Elapsed;
                var declaredDead = WhenDeclaredDeadAsync(cluster, secondary.SiloAddress, clock, stop.Token);
                await cluster.KillSiloAsync(secondary);
                output.WriteLine($"killed {secondary.SiloAddress} at {killedAt.TotalSeconds:0.00} s (the kill call took {(clock.Elapsed - killedAt).TotalMilliseconds:0} ms)");
                await Task.Delay(ReadAfterKill);
                var deadAt = await declaredDead;
                output.WriteLine(deadAt is { } dead
                    ? $"the primary listed the killed silo as not active {(dead - killedAt).TotalMilliseconds:0} ms after the kill began"
                    : "the primary still listed the killed silo as active at the end");
                await stop.CancelAsync();
                await Task.WhenAll(readers);

                var all = results.ToArray();
                var failed = all.Where(r => r.Problem is not null).ToArray();
                var afterKill = all.Where(r => r.StartedAt >= killedAt).ToArray();
                var longest = all.MaxBy(r => r.Duration);
                var retries = gateway.Log.Lines.Count(line => line.EventId.Id == 3010);
                output.WriteLine($"{all.Length} reads, {failed.Length} failed, {afterKill.Length} started after the kill");
                output.WriteLine($"longest read: {longest.Duration.TotalMilliseconds:0} ms, started {(longest.StartedAt - killedAt).TotalMilliseconds:0} ms from the kill");
                output.WriteLine($"cluster read retries logged by the gateway: {retries}");
                foreach (var line in gateway.Log.Lines.Where(line => line.EventId.Id is 3010 or 3011).Take(20))
                {
                    output.WriteLine(line.ToString());
                }

                Assert.True(failed.Length == 0, $"{failed.Length} of {all.Length} reads failed:{Environment.NewLine}{string.Join(Environment.NewLine, failed.Take(20).Select(f => f.Problem))}");
                Assert.True(afterKill.Length >= Readers, $"Only {afterKill.Length} reads ran around the kill.");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"The test took {clock.Elapsed}.");
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

    private static async Task ReadLoopAsync(
        HttpClient client, Random random, Dictionary<string, byte[]> references, long total, Stopwatch clock, ConcurrentQueue<ReadResult> results, CancellationToken stop)
    {
        var macs = references.Keys.ToArray();
        while (!stop.IsCancellationRequested)
        {
            var mac = macs[random.Next(macs.Length)];
            var start = random.NextInt64(total);
            var probe = RangeProbe.Closed(start, start + RangeLength - 1, total);
            var startedAt = clock.Elapsed;
            string? problem;
            try
            {
                problem = await IsoResponses.CheckRangeAsync(client, GatewayInstance.IsoPath(mac), probe, references[mac]);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                // A connection cut short of Content-Length is what the gateway does when a read fails after the headers.
                problem = $"{mac} {probe.Header}: {ex.GetType().Name}: {ex.Message}";
            }

            results.Enqueue(new ReadResult(startedAt, clock.Elapsed - startedAt, problem));
        }
    }

    // Polls the primary's view of membership: how long the cluster takes to stop routing to the killed silo.
    private static async Task<TimeSpan?> WhenDeclaredDeadAsync(TestCluster cluster, SiloAddress silo, Stopwatch clock, CancellationToken stop)
    {
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var hosts = await management.GetHosts(onlyActive: true, CancellationToken.None);
                if (!hosts.ContainsKey(silo))
                {
                    return clock.Elapsed;
                }
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException)
            {
                // The management grain may itself have lived on the killed silo; ask again.
            }

            await Task.Delay(50, CancellationToken.None);
        }

        return null;
    }

    private static async Task<int> ChunkActivationsOnAsync(TestCluster cluster, SiloAddress silo)
    {
        var statistics = await cluster.Client.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics([silo]);
        return statistics.Where(s => s.GrainType.Contains("IsoChunkGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

    private readonly record struct ReadResult(TimeSpan StartedAt, TimeSpan Duration, string? Problem);

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddIsoClusterGrains(siloBuilder.Configuration);

            // Spread activations over both silos whatever the default placement prefers (the local silo, the least
            // loaded one), so the killed silo holds chunk and machine grains that are being read.
            siloBuilder.Services.AddSingleton<PlacementStrategy, RandomPlacement>();
        }
    }
}
