using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using IsoCluster.EndToEnd.Tests.Harness;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>
/// A gateway is stopped (SIGTERM, as in a rolling update) while a rack reads through both: responses it has started
/// complete with the right bytes, the load balancer (played by the test) moves new reads to the other gateway as soon
/// as the first turns not-ready or refuses connections, no read fails, and the gateway exits within its drain bound.
/// </summary>
[Collection(ProcessClusterDefinition.Name)]
[Trait("Category", "Cluster")]
[Trait("Category", "EndToEnd")]
public sealed class GatewayDrainTests(ITestOutputHelper output)
{
    private const int Bmcs = 32;
    private const int SlowDownloads = 4;
    private const int SlowBlock = 64 * 1024;

    // A whole-ISO download paced to about 1.6 MB/s (4 s for the test ISO): a slow BMC whose response is still going
    // out when the gateway is told to stop.
    private static readonly TimeSpan SlowPace = TimeSpan.FromMilliseconds(40);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(30);

    // Process teardown after the drain (the host's own stop, runtime exit) on a busy 2-core runner.
    private static readonly TimeSpan ExitMargin = TimeSpan.FromSeconds(5);

    /// <param name="shutdownDelay">
    /// <c>--shutdown-delay</c>: 0 (the default) stops listening at once, so the load balancer learns from refused
    /// connections; 2 s keeps serving while not ready, as behind a Kubernetes Service, so it learns from readiness.
    /// </param>
    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:00:02")]
    public async Task Get_GatewayTerminatedUnderThirtyTwoBmcs_InFlightResponsesCompleteNoReadFailsAndItExitsWithinItsDrainBound(string shutdownDelay)
    {
        var delay = TimeSpan.Parse(shutdownDelay, CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        await using var bed = await ClusterTestBed.StartAsync(
            silos: 3,
            gateways: 2,
            chunkSize: "256KiB",
            "--shutdown-delay", shutdownDelay,
            "--drain-timeout", DrainTimeout.ToString("c", CultureInfo.InvariantCulture));
        var cluster = bed.Cluster;
        var victim = cluster.Gateways[0];
        output.WriteLine(At(clock, "cluster ready"));

        var retries = await bed.WarmUpAsync(PhaseTimeout);
        output.WriteLine(At(clock, $"warm-up: first reads through both gateways right after {retries} retries of a 503/504"));
        await bed.AssertWholeIsoThroughEveryGatewayAsync();
        await using var loadBalancer = new LoadBalancer(cluster.Gateways, followReadiness: true, clock);
        await using var fleet = BmcFleet.Start(Bmcs, seed: 11, loadBalancer, bed.Reference, clock);
        await fleet.WaitForReadsAsync(Bmcs * 8, PhaseTimeout, () => cluster.Output);

        // Whole-ISO downloads from the victim, each with its first block in hand: responses in flight.
        var started = Enumerable.Range(0, SlowDownloads).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToList();
        var downloads = started
            .Select((first, i) => Task.Run(() => SlowDownloadAsync(bed.IsoUrl(victim, i % 2 == 0 ? TestMachines.Mac1 : TestMachines.Mac2), bed.Reference(i % 2 == 0 ? TestMachines.Mac1 : TestMachines.Mac2), first, clock)))
            .ToList();
        await Task.WhenAll(started.Select(s => s.Task)).WaitAsync(PhaseTimeout);

        var terminatedAt = clock.Elapsed;
        victim.Terminate();
        output.WriteLine(At(clock, $"SIGTERM {victim.Name} (pid {victim.Process.Id}), --shutdown-delay {shutdownDelay}, --drain-timeout {DrainTimeout:c}"));
        var bound = delay + DrainTimeout + ExitMargin;
        var exited = await victim.Process.WaitForExitAsync(bound);
        var exitedAfter = clock.Elapsed - terminatedAt;
        output.WriteLine(At(clock, exited ? $"{victim.Name} exited with {victim.Process.ExitCode} {exitedAfter.TotalSeconds:0.000} s after SIGTERM" : $"{victim.Name} still running"));

        var slow = await Task.WhenAll(downloads).WaitAsync(PhaseTimeout);
        await fleet.WaitForReadsAsync(Bmcs * 8, PhaseTimeout, () => cluster.Output);
        var reads = await fleet.StopAsync();

        var fromVictimAfterTerm = reads.Where(r => r.Gateway == victim.Name && r.EndedAt > terminatedAt).ToList();
        output.WriteLine($"{reads.Count} reads; per gateway: {string.Join(", ", reads.GroupBy(r => r.Gateway).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))}");
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{fromVictimAfterTerm.Count} reads answered by {victim.Name} after SIGTERM (last ended {(fromVictimAfterTerm.Count == 0 ? 0 : (fromVictimAfterTerm.Max(r => r.EndedAt) - terminatedAt).TotalSeconds):0.000} s after it); " +
            $"{reads.Sum(r => r.Refusals)} refused connections sent on to the other gateway; longest read {reads.Max(r => r.Duration).TotalMilliseconds:0} ms"));
        foreach (var download in slow)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slow download: {download.Bytes} bytes, ended {(download.EndedAt - terminatedAt).TotalSeconds:0.000} s after SIGTERM, {download.Problem ?? "right bytes"}"));
        }

        foreach (var line in loadBalancer.Events)
        {
            output.WriteLine($"load balancer: {line}");
        }

        var problems = reads.Where(r => r.Problem is not null).Select(r => $"{r.StartedAt.TotalSeconds:0.000} s BMC {r.Bmc}: {r.Problem}")
            .Concat(slow.Where(d => d.Problem is not null).Select(d => $"slow download: {d.Problem}"))
            .ToList();
        Assert.True(problems.Count == 0, $"{problems.Count} reads failed or were wrong:{Environment.NewLine}{string.Join(Environment.NewLine, problems.Take(20))}{Environment.NewLine}{cluster.Output}");
        Assert.True(exited, $"{victim.Name} did not exit within {bound.TotalSeconds} s of SIGTERM (delay + drain timeout + {ExitMargin.TotalSeconds} s){Environment.NewLine}{victim.Output}");
        Assert.True(victim.Process.ExitCode == 0, $"{victim.Name} exited with {victim.Process.ExitCode}{Environment.NewLine}{victim.Output}");
        Assert.True(slow.All(d => d.EndedAt > terminatedAt), "a slow download ended before SIGTERM: it did not test an in-flight response");
        if (delay > TimeSpan.Zero)
        {
            // While it keeps serving, the gateway must say it is going: the load balancer sees that before any refusal.
            Assert.True(
                loadBalancer.Events.FirstOrDefault(e => e.Contains(victim.Name, StringComparison.Ordinal))?.Contains("/health/ready 503", StringComparison.Ordinal) == true,
                $"{victim.Name} did not turn not-ready before it stopped listening: {string.Join("; ", loadBalancer.Events)}{Environment.NewLine}{victim.Output}");
        }
    }

    // One slow BMC: the whole ISO (200), read a block at a time with a pause, through a small socket receive buffer so
    // that the gateway cannot hand the whole response to the kernel at once.
    private static async Task<SlowDownload> SlowDownloadAsync(Uri url, byte[] reference, TaskCompletionSource firstBlock, Stopwatch clock)
    {
        using var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 16 * 1024 };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var received = 0;
        try
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                firstBlock.TrySetResult();
                return new SlowDownload(0, clock.Elapsed, $"{url}: {(int)response.StatusCode} instead of 200");
            }

            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[reference.Length + 1];
            while (true)
            {
                var block = Math.Min(SlowBlock, buffer.Length - received);
                var read = await body.ReadAtLeastAsync(buffer.AsMemory(received, block), block, throwOnEndOfStream: false);
                if (read == 0)
                {
                    break;
                }

                received += read;
                firstBlock.TrySetResult();
                await Task.Delay(SlowPace);
            }

            var difference = ReferencePatch.FirstDifference(buffer.AsSpan(0, received), reference);
            return new SlowDownload(received, clock.Elapsed, difference == -1 ? null : $"{url}: {received} bytes, differing from the reference first at offset {difference}");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            firstBlock.TrySetResult();
            return new SlowDownload(received, clock.Elapsed, $"{url}: {e.GetType().Name} after {received} bytes: {e.Message}");
        }
    }

    private static string At(Stopwatch clock, string what) =>
        string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,7:0.000} s ({DateTime.UtcNow:HH:mm:ss.fff} UTC): {what}");

    private sealed record SlowDownload(int Bytes, TimeSpan EndedAt, string? Problem);
}
