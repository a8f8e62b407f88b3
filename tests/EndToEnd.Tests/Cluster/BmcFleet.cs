using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>One range read of a simulated BMC.</summary>
/// <param name="Bmc">Which BMC.</param>
/// <param name="Gateway">The gateway that answered (or failed it).</param>
/// <param name="Range">The <c>Range</c> header sent.</param>
/// <param name="StartedAt">When it was sent, on the test's clock.</param>
/// <param name="Duration">How long until the last body byte was in hand (or the failure).</param>
/// <param name="Problem">Null for a right 206; otherwise what was wrong.</param>
/// <param name="Refusals">Gateways that refused the connection first, so the load balancer sent it on.</param>
public sealed record BmcRead(int Bmc, string Gateway, string Range, TimeSpan StartedAt, TimeSpan Duration, string? Problem, int Refusals)
{
    /// <summary>When the read ended, on the test's clock.</summary>
    public TimeSpan EndedAt => StartedAt + Duration;

    /// <summary>Whether the read was in flight at any time between <paramref name="from"/> and <paramref name="to"/>.</summary>
    public bool Overlaps(TimeSpan from, TimeSpan to) => StartedAt <= to && EndedAt >= from;
}

/// <summary>
/// Simulated BMCs booting from virtual media: each reads its machine's ISO (Mac1 and Mac2 alternately) in 64 KiB
/// ranges, front to back from a random place, with an occasional jump, as HTTPFS clients do; every read goes through
/// the <see cref="LoadBalancer"/> and is checked byte for byte against the reference patch (status 206, exact
/// <c>Content-Range</c> and framing). Each BMC has its own connection pool. Reads go on until <see cref="StopAsync"/>.
/// </summary>
public sealed class BmcFleet : IAsyncDisposable
{
    /// <summary>The size of one read.</summary>
    public const int ReadSize = 64 * 1024;

    // About one read in 16 jumps elsewhere, as HTTPFS clients do when the file system asks for another file.
    private const int JumpOneIn = 16;

    // A request gives up after this long: longer than the gateway's own retry deadline and a BMC's patience together,
    // so a slow read is measured (and reported) rather than cut off, while a hung one still fails the test.
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    private readonly LoadBalancer _loadBalancer;
    private readonly Stopwatch _clock;
    private readonly Func<string, byte[]> _reference;
    private readonly ConcurrentQueue<BmcRead> _reads = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _bmcs;

    private BmcFleet(int count, int seed, LoadBalancer loadBalancer, Func<string, byte[]> reference, Stopwatch clock)
    {
        _loadBalancer = loadBalancer;
        _reference = reference;
        _clock = clock;
        _bmcs = [.. Enumerable.Range(0, count).Select(bmc => Task.Run(() => RunBmcAsync(bmc, new Random((seed * 1000) + bmc))))];
    }

    /// <summary>Every read completed so far.</summary>
    public IReadOnlyList<BmcRead> Reads => [.. _reads];

    /// <summary>How many reads completed so far.</summary>
    public int Completed => _reads.Count;

    /// <summary>Starts <paramref name="count"/> BMCs; <paramref name="reference"/> gives the bytes a MAC must receive.</summary>
    public static BmcFleet Start(int count, int seed, LoadBalancer loadBalancer, Func<string, byte[]> reference, Stopwatch clock)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(clock);
        return new BmcFleet(count, seed, loadBalancer, reference, clock);
    }

    /// <summary>
    /// Waits until <paramref name="reads"/> more reads have completed (at most <paramref name="timeout"/>); a timeout's
    /// message ends with <paramref name="context"/> (e.g. the cluster's output).
    /// </summary>
    public async Task WaitForReadsAsync(int reads, TimeSpan timeout, Func<string>? context = null)
    {
        var target = Completed + reads;
        var deadline = Stopwatch.StartNew();
        while (Completed < target)
        {
            if (deadline.Elapsed > timeout)
            {
                var problems = Reads.Where(read => read.Problem is not null).Take(10).Select(read => read.Problem);
                throw new TimeoutException(
                    $"The BMCs completed {Completed} of {target} reads within {timeout.TotalSeconds} s; problems so far:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}{Environment.NewLine}{context?.Invoke()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Lets every BMC finish the read it is in and stop; returns every read.</summary>
    public async Task<IReadOnlyList<BmcRead>> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_bmcs).WaitAsync(RequestTimeout * 2);
        return Reads;
    }

    /// <summary>Stops the BMCs (if <see cref="StopAsync"/> did not).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_bmcs).WaitAsync(RequestTimeout * 2);
        }

        _stop.Dispose();
    }

    private async Task RunBmcAsync(int bmc, Random random)
    {
        var mac = bmc % 2 == 0 ? TestMachines.Mac1 : TestMachines.Mac2;
        var reference = _reference(mac);
        var total = reference.LongLength;
        var path = GatewayInstance.IsoPath(mac);
        using var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(2),
        };
        using var client = new HttpClient(handler) { Timeout = RequestTimeout };
        var offset = random.NextInt64(0, total / ReadSize) * ReadSize;
        for (long read = 0; !_stop.IsCancellationRequested; read++)
        {
            if (random.Next(JumpOneIn) == 0)
            {
                offset = random.NextInt64(0, total);
                offset -= offset % 4096;
            }

            var probe = RangeProbe.Closed(offset, offset + ReadSize - 1, total);
            _reads.Enqueue(await ReadAsync(client, bmc, read, path, probe, reference));
            offset = probe.Start + probe.Length >= total ? 0 : probe.Start + probe.Length;
        }
    }

    private async Task<BmcRead> ReadAsync(HttpClient client, int bmc, long read, string path, RangeProbe probe, byte[] reference)
    {
        var started = _clock.Elapsed;
        var refusals = 0;
        while (true)
        {
            var gateway = _loadBalancer.Pick(bmc, read + refusals);
            if (gateway is null)
            {
                if (_clock.Elapsed - started > RequestTimeout)
                {
                    return new BmcRead(bmc, "none", probe.Header, started, _clock.Elapsed - started, $"{path} {probe.Header}: no gateway in rotation", refusals);
                }

                await Task.Delay(50);
                continue;
            }

            try
            {
                var problem = await IsoResponses.CheckRangeAsync(client, new Uri(gateway.BaseAddress, path).ToString(), probe, reference);
                return new BmcRead(bmc, gateway.Name, probe.Header, started, _clock.Elapsed - started, problem is null ? null : $"{gateway.Name} {problem}", refusals);
            }
            catch (HttpRequestException e) when (LoadBalancer.IsRefusedConnection(e) && refusals < 3)
            {
                // Nothing listened: the request never reached a gateway, and a load balancer sends it to another.
                _loadBalancer.Refused(gateway);
                refusals++;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                return new BmcRead(bmc, gateway.Name, probe.Header, started, _clock.Elapsed - started, $"{gateway.Name} {path} {probe.Header}: {e.GetType().Name}: {e.Message}", refusals);
            }
        }
    }
}
