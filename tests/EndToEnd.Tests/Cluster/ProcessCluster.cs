using System.Globalization;
using System.Text;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>What a <see cref="ProcessCluster"/> runs.</summary>
/// <param name="Silos">How many silo processes.</param>
/// <param name="Gateways">How many client-mode gateway processes.</param>
/// <param name="SiloArguments">Every silo's product flags (Hardware, upstream, boot, cache); the harness adds the cluster flags.</param>
/// <param name="GatewayArguments">Every gateway's product flags beyond mode, membership and <c>--urls</c>.</param>
/// <param name="WorkingDirectory">Where the processes run (relative paths in the flags mean this directory).</param>
/// <param name="Environment">Variables every process gets on top of the test's own (e.g. <c>OTEL_*</c>), or null.</param>
public sealed record ProcessClusterSettings(
    int Silos,
    int Gateways,
    IReadOnlyList<string> SiloArguments,
    IReadOnlyList<string> GatewayArguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string>? Environment = null);

/// <summary>
/// The production topology on one host: a real <c>redis-server</c> holding membership, silo processes
/// (<c>IsoCluster.Silo.dll</c>) and client-mode gateway processes (<c>IsoCluster.Gateway.dll --mode client</c>), each on
/// its own free loopback ports. Started together and ready (every <c>/health/ready</c> answers 200) when
/// <see cref="StartAsync"/> returns; disposal kills every process it started, by PID.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    /// <summary>The service id every test cluster uses; the cluster id is unique per cluster.</summary>
    public const string ServiceId = "isocluster-e2e";

    private static readonly TimeSpan RedisStartTimeout = TimeSpan.FromSeconds(20);

    private ProcessCluster(RedisServer redis, string clusterId, IReadOnlyList<ClusterProcess> silos, IReadOnlyList<ClusterProcess> gateways)
    {
        Redis = redis;
        ClusterId = clusterId;
        Silos = silos;
        Gateways = gateways;
    }

    /// <summary>The membership store.</summary>
    public RedisServer Redis { get; }

    /// <summary>This cluster's <c>--orleans-cluster-id</c>.</summary>
    public string ClusterId { get; }

    /// <summary>The silo processes, in start order.</summary>
    public IReadOnlyList<ClusterProcess> Silos { get; }

    /// <summary>The gateway processes, in start order.</summary>
    public IReadOnlyList<ClusterProcess> Gateways { get; }

    /// <summary>Every process, silos first.</summary>
    public IEnumerable<ClusterProcess> All => Silos.Concat(Gateways);

    /// <summary>
    /// Every process's command line and newest output, plus Redis's: what an assertion message needs to explain a
    /// failure of a multi-process test.
    /// </summary>
    public string Output
    {
        get
        {
            var text = new StringBuilder();
            foreach (var process in All)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"===== {process.Name}: {process.CommandLine}");
                text.AppendLine(process.Output);
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"===== redis-server 127.0.0.1:{Redis.Port}");
            text.AppendLine(Redis.Output);
            return text.ToString();
        }
    }

    /// <summary>
    /// Starts Redis, then every silo and gateway at once, and waits (within <paramref name="timeout"/>) until each
    /// answers <c>/health/ready</c> with 200. On failure everything started is killed and the exception carries
    /// every process's output.
    /// </summary>
    public static async Task<ProcessCluster> StartAsync(ProcessClusterSettings settings, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var siloAssembly = ClusterProcess.AssemblyPath(ClusterRole.Silo);
        var gatewayAssembly = ClusterProcess.AssemblyPath(ClusterRole.Gateway);
        var redis = await RedisServer.StartAsync(RedisStartTimeout);
        var clusterId = "e2e-" + Guid.NewGuid().ToString("N")[..12];
        var ports = new HashSet<int> { redis.Port };
        int NextPort()
        {
            var port = FreePorts.Next();
            while (!ports.Add(port))
            {
                port = FreePorts.Next();
            }

            return port;
        }

        string[] membership =
        [
            "--orleans-clustering", "redis",
            "--orleans-redis", redis.Endpoint,
            "--orleans-cluster-id", clusterId,
            "--orleans-service-id", ServiceId,
        ];
        var silos = new List<ClusterProcess>();
        for (var i = 1; i <= settings.Silos; i++)
        {
            var (siloPort, gatewayPort, httpPort) = (NextPort(), NextPort(), NextPort());
            silos.Add(new ClusterProcess(
                ClusterRole.Silo,
                $"silo-{i}",
                httpPort,
                httpPort,
                siloPort,
                gatewayPort,
                [
                    siloAssembly,
                    .. membership,
                    "--orleans-advertised-ip", "127.0.0.1",
                    "--orleans-silo-port", Invariant(siloPort),
                    "--orleans-gateway-port", Invariant(gatewayPort),
                    "--urls", $"http://127.0.0.1:{Invariant(httpPort)}",
                    .. settings.SiloArguments,
                ],
                settings.WorkingDirectory,
                settings.Environment));
        }

        var gateways = new List<ClusterProcess>();
        for (var i = 1; i <= settings.Gateways; i++)
        {
            var (httpPort, adminPort) = (NextPort(), NextPort());
            gateways.Add(new ClusterProcess(
                ClusterRole.Gateway,
                $"gateway-{i}",
                httpPort,
                adminPort,
                0,
                0,
                [
                    gatewayAssembly, "--mode", "client", .. membership,
                    "--urls", $"http://127.0.0.1:{Invariant(httpPort)}",
                    "--admin-urls", $"http://127.0.0.1:{Invariant(adminPort)}",
                    .. settings.GatewayArguments,
                ],
                settings.WorkingDirectory,
                settings.Environment));
        }

        var cluster = new ProcessCluster(redis, clusterId, silos, gateways);
        try
        {
            foreach (var process in cluster.All)
            {
                process.Start();
            }

            await Task.WhenAll(cluster.All.Select(process => process.WaitReadyAsync(timeout)));
            return cluster;
        }
        catch (Exception e)
        {
            var output = cluster.Output;
            await cluster.DisposeAsync();
            throw new InvalidOperationException($"The cluster did not become ready: {e.Message}{Environment.NewLine}{output}", e);
        }
    }

    /// <summary>Starts a stopped silo again on its ports and waits until it is ready.</summary>
    public async Task RestartAsync(ClusterProcess process, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (!await process.Process.WaitForExitAsync(timeout))
        {
            throw new TimeoutException($"{process.Name} has not exited; it cannot be restarted.{Environment.NewLine}{Output}");
        }

        process.Start();
        try
        {
            await process.WaitReadyAsync(timeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{process.Name} did not become ready after its restart: {e.Message}{Environment.NewLine}{Output}", e);
        }
    }

    /// <summary>The silo whose silo-to-silo port is <paramref name="port"/>, or null.</summary>
    public ClusterProcess? SiloByPort(int port) => Silos.FirstOrDefault(silo => silo.SiloPort == port);

    /// <summary>Kills every process (by PID) and Redis.</summary>
    public async ValueTask DisposeAsync()
    {
        // Gateways first: a silo killed under a connected gateway would only add noise to the output.
        foreach (var process in Gateways.Concat(Silos))
        {
            await process.DisposeAsync();
        }

        await Redis.DisposeAsync();
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Tests that run a multi-process cluster. They run alone, after the parallel collections: five .NET processes on a
/// 2-core runner next to other tests would starve the membership probes that the tests tune to seconds.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessClusterDefinition
{
    public const string Name = "Process cluster";
}
