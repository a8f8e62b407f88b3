namespace IsoCluster.Grains.Upstream;

/// <summary>How silos talk to upstream ISO servers (configuration section <c>Upstream</c>).</summary>
/// <remarks>
/// The retry settings are sized against the gateway's grain-read retries (<c>Gateway:ClusterCalls</c>: 2 s per attempt,
/// 3.5 s in all) and a BMC's request timeout of about 5 s (DESIGN invariant 8). A chunk fetch runs on in the chunk grain
/// when a gateway's attempt gives up on it, and the gateway's next attempt queues behind it and gets its result, so a
/// fetch that succeeds by about 3.3 s after it began still answers the BMC's read.
/// </remarks>
public sealed class UpstreamOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Upstream";

    /// <summary>
    /// The longest one upstream request (all redirect hops and the body of one chunk) may take, however steadily its
    /// bytes arrive (<c>--upstream-timeout</c>). A request that stops sending bytes is ended sooner, by
    /// <see cref="StallTimeout"/>. Default: 30 s.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an upstream request may go without a byte (connecting, waiting for the response headers, or between two
    /// reads of the body) before it is abandoned and, within <see cref="RetryDeadline"/>, tried again
    /// (<c>--upstream-stall-timeout</c>). At most <see cref="Timeout"/>. Default: 1 s: a healthy upstream on the data
    /// center's network never pauses that long, and a stalled request found after 1 s still leaves time for a retry that
    /// answers the BMC. Raise it for an upstream far away.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long after a fetch began a failed attempt may still be retried (<c>--upstream-retry-deadline</c>): a retry is
    /// made only if its longest backoff (<see cref="MaxBackoff"/>) ends within it. Waiting for a fetch slot
    /// (<see cref="MaxConnectionsPerServer"/>) counts too. An attempt under way when it passes is not cut short while its
    /// bytes keep coming. More than <see cref="MaxBackoff"/>, at most 1 minute. Default: 3 s.
    /// </summary>
    public TimeSpan RetryDeadline { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The most attempts one fetch makes, the first included (<c>Upstream:MaxAttempts</c>). From 1 (no retry) to 20.
    /// Default: 6. Only transient failures are retried: connections refused or broken, bodies cut short, 5xx other than
    /// 501, 408, 429, stalls and timeouts; never a version change, a refused redirect or another 4xx.
    /// </summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>
    /// The median pause before the first retry (<c>Upstream:BaseBackoff</c>); later pauses grow exponentially, with
    /// jitter so that the fetches that failed together do not retry in step. At most <see cref="MaxBackoff"/>.
    /// Default: 100 ms.
    /// </summary>
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest pause between two attempts (<c>Upstream:MaxBackoff</c>). Less than <see cref="RetryDeadline"/>. Default: 500 ms.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How many redirects are followed before the upstream is reported broken. Default: 10.</summary>
    public int MaxRedirects { get; set; } = 10;

    /// <summary>
    /// Concurrent fetches, and so connections, per upstream server (scheme, host and port of the source URL) from one
    /// silo (<c>--upstream-max-connections</c>). More wait in a queue of <see cref="MaxQueuedFetches"/>. Default: 32.
    /// </summary>
    public int MaxConnectionsPerServer { get; set; } = 32;

    /// <summary>
    /// How many fetches per upstream server one silo lets wait for a slot once <see cref="MaxConnectionsPerServer"/>
    /// are under way (<c>--upstream-max-queued-fetches</c>). A fetch finding the queue full, or not getting a slot
    /// within <see cref="RetryDeadline"/>, fails as busy (the BMC gets 503 with Retry-After) rather than wait without
    /// bound. 0 queues none. Default: 256.
    /// </summary>
    public int MaxQueuedFetches { get; set; } = 256;
}
