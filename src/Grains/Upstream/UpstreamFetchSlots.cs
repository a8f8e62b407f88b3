using System.Threading.RateLimiting;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// Caps this silo's concurrent fetches per upstream server (<see cref="UpstreamOptions.MaxConnectionsPerServer"/>)
/// behind a bounded queue (<see cref="UpstreamOptions.MaxQueuedFetches"/>), so that a fleet boot's misses neither
/// swamp one upstream nor pile up without bound in the connection pool's own queue.
/// </summary>
/// <remarks>
/// System.Threading.RateLimiting's partitioned concurrency limiter (part of ASP.NET Core's shared framework) does the
/// counting, queueing in arrival order and per-server partitioning, and drops partitions of servers gone idle. A fetch
/// holds its slot for one attempt, not for its backoff, so a failing upstream's retries do not starve other fetches.
/// </remarks>
internal sealed class UpstreamFetchSlots : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly int _perServer;
    private readonly int _queue;

    public UpstreamFetchSlots(int perServer, int queue)
    {
        _perServer = perServer;
        _queue = queue;
        _limiter = PartitionedRateLimiter.Create<string, string>(server => RateLimitPartition.GetConcurrencyLimiter(
            server,
            _ => new ConcurrencyLimiterOptions
            {
                PermitLimit = perServer,
                QueueLimit = queue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            }));
    }

    /// <summary>
    /// The server a source's fetches count against: the scheme, host and port of its URL, without user information,
    /// since it also shows in reasons and logs.
    /// </summary>
    public static string ServerOf(IsoSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Uri.TryCreate(source.Url, UriKind.Absolute, out var url) ? ServerOf(url) : source.DisplayUrl;
    }

    /// <summary>The scheme, host and port of <paramref name="url"/>.</summary>
    public static string ServerOf(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);
    }

    /// <summary>
    /// A slot for one attempt toward <paramref name="server"/>, waiting at most <paramref name="wait"/> in the queue;
    /// or, with no lease, why none was had (<see cref="UpstreamStatus.Busy"/>).
    /// </summary>
    public async ValueTask<(RateLimitLease? Lease, UpstreamRead Refusal)> AcquireAsync(string server, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        var lease = _limiter.AttemptAcquire(server);
        if (lease.IsAcquired)
        {
            return (lease, UpstreamRead.Ok);
        }

        lease.Dispose();
        if (wait <= TimeSpan.Zero)
        {
            return (null, NoSlot(server, wait));
        }

        using var timeout = new CancellationTokenSource(wait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            lease = await _limiter.AcquireAsync(server, 1, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, NoSlot(server, wait));
        }

        if (lease.IsAcquired)
        {
            return (lease, UpstreamRead.Ok);
        }

        lease.Dispose();
        return (null, new(UpstreamStatus.Busy, $"{_perServer} fetches from {server} under way on this silo and {_queue} more queued", Transient: true));
    }

    public void Dispose() => _limiter.Dispose();

    private UpstreamRead NoSlot(string server, TimeSpan wait) => new(
        UpstreamStatus.Busy,
        $"none of this silo's {_perServer} fetch slots for {server} came free within {Math.Max(0, wait.TotalSeconds):0.##} s",
        Transient: true);
}
