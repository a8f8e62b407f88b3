using System.Diagnostics;
using System.Net;
using System.Text;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>
/// Everything one multi-process cluster test needs, set up and torn down together: the boot ISO on a real upstream,
/// a Hardware file for both test machines, a <see cref="ProcessCluster"/> serving them through Redis membership, and
/// a <see cref="ClusterObserver"/> joined to it. Each test gets its own (tests that kill silos share nothing).
/// </summary>
public sealed class ClusterTestBed : IAsyncDisposable
{
    /// <summary>The name of the boot ISO on the upstream.</summary>
    public const string IsoName = "hook.iso";

    // Five .NET processes starting at once on a 2-core runner take a while; a hung start still fails well inside a minute.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _directory;
    private readonly Dictionary<string, byte[]> _references;

    private ClusterTestBed(DirectoryInfo directory, BootIsoImage image, Dictionary<string, byte[]> references, UpstreamServer upstream)
    {
        _directory = directory;
        Image = image;
        _references = references;
        Upstream = upstream;
    }

    /// <summary>The boot ISO the upstream serves.</summary>
    public BootIsoImage Image { get; }

    /// <summary>The upstream (every request it saw is recorded).</summary>
    public UpstreamServer Upstream { get; }

    /// <summary>The silos and gateways.</summary>
    public ProcessCluster Cluster { get; private set; } = null!;

    /// <summary>An Orleans client in the test process, for membership and grain placement.</summary>
    public ClusterObserver Observer { get; private set; } = null!;

    /// <summary>The bytes <paramref name="mac"/> must receive.</summary>
    public byte[] Reference(string mac) => _references[mac];

    /// <summary>
    /// Starts the upstream, then <paramref name="silos"/> silos (chunks of <paramref name="chunkSize"/>, the upstream
    /// allowlisted for <c>?sourceISO=</c>, validators trusted for an hour so that the version is probed once) and
    /// <paramref name="gateways"/> client-mode gateways (with <paramref name="gatewayArguments"/>), and connects the observer.
    /// </summary>
    public static async Task<ClusterTestBed> StartAsync(int silos, int gateways, string chunkSize, params string[] gatewayArguments)
    {
        var image = await BootIsoImage.SharedAsync();
        var references = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            references[mac] = ReferencePatch.Apply(image.Bytes, image.Magic, TestMachines.KernelParams(mac));
        }

        var directory = Directory.CreateTempSubdirectory("isocluster-e2e-redis-");
        var bed = new ClusterTestBed(directory, image, references, await UpstreamServer.StartAsync());
        try
        {
            bed.Upstream.SetFile(IsoName, image.Bytes);
            var hardwareFile = Path.Combine(directory.FullName, "hardware.yaml");
            await File.WriteAllTextAsync(hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: bed.Upstream.Url(IsoName)));
            bed.Cluster = await ProcessCluster.StartAsync(
                new ProcessClusterSettings(
                    silos,
                    gateways,
                    [
                        "--hardware-file", hardwareFile,
                        "--iso-upstream-url", bed.Upstream.Url(IsoName),
                        "--iso-source-allow", bed.Upstream.Url("", "files"),
                        "--iso-revalidate-interval", "01:00:00",
                        "--chunk-size", chunkSize,
                        .. TestMachines.BootFlags,
                    ],
                    gatewayArguments,
                    directory.FullName),
                StartTimeout);
            bed.Observer = await ClusterObserver.ConnectAsync(bed.Cluster, StartTimeout);
            return bed;
        }
        catch
        {
            await bed.DisposeAsync();
            throw;
        }
    }

    /// <summary>The URL of <paramref name="mac"/>'s ISO on <paramref name="gateway"/>, optionally from another upstream file.</summary>
    public Uri IsoUrl(ClusterProcess gateway, string mac, string? upstreamFile = null)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        return new Uri(gateway.BaseAddress, GatewayInstance.IsoPath(mac, sourceIso: upstreamFile is null ? null : Upstream.Url(upstreamFile)));
    }

    /// <summary>
    /// Reads the first 64 KiB for both machines through every gateway, as a BMC would: a 503 or 504 (the cluster's
    /// first answers on a freshly started, busy runner may miss the gateway's deadline) is retried after a pause
    /// until <paramref name="timeout"/>. Returns how many retries that took. Tests about what happens later start
    /// from a cluster that has served the path once.
    /// </summary>
    public async Task<int> WarmUpAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var retries = 0;
        var deadline = Stopwatch.StartNew();
        foreach (var gateway in Cluster.Gateways)
        {
            foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
            {
                var probe = RangeProbe.Closed(0, 65535, Image.Bytes.Length);
                while (await IsoResponses.CheckRangeAsync(client, IsoUrl(gateway, mac).ToString(), probe, Reference(mac)) is { } problem)
                {
                    var retryable = problem.Contains(" 503 instead of 206", StringComparison.Ordinal) || problem.Contains(" 504 instead of 206", StringComparison.Ordinal);
                    Assert.True(retryable && deadline.Elapsed < timeout, $"warm-up {gateway.Name}: {problem}{Environment.NewLine}{Cluster.Output}");
                    retries++;
                    await Task.Delay(500);
                }
            }
        }

        return retries;
    }

    /// <summary>
    /// Downloads the whole ISO (no <c>Range</c>) for both machines through every gateway at once, from
    /// <paramref name="upstreamFile"/> (<c>?sourceISO=</c>) when given, and asserts each is a framed 200 equal to the
    /// machine's reference patch; a failure message carries every process's output.
    /// </summary>
    public async Task AssertWholeIsoThroughEveryGatewayAsync(string? upstreamFile = null)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var downloads = Cluster.Gateways
            .SelectMany(gateway => new[] { TestMachines.Mac1, TestMachines.Mac2 }.Select(mac => (gateway, mac)))
            .Select(async target =>
            {
                using var response = await client.GetAsync(IsoUrl(target.gateway, target.mac, upstreamFile));
                var body = await response.Content.ReadAsByteArrayAsync();
                return (Name: $"{target.gateway.Name} {target.mac} {upstreamFile ?? IsoName}", target.mac, response.StatusCode, Framing: IsoResponses.FramingProblem(response), body);
            })
            .ToList();
        foreach (var (name, mac, status, framing, body) in await Task.WhenAll(downloads))
        {
            Assert.True(status == HttpStatusCode.OK, $"{name}: {(int)status} {Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(300, body.Length)))}{Environment.NewLine}{Cluster.Output}");
            Assert.True(framing is null, $"{name}: {framing}");
            var difference = ReferencePatch.FirstDifference(body, Reference(mac));
            Assert.True(difference == -1, $"{name}: {body.Length} bytes differ from the reference first at offset {difference}");
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Observer is not null)
        {
            await Observer.DisposeAsync();
        }

        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }

        await Upstream.DisposeAsync();
        _directory.Delete(recursive: true);
    }
}
