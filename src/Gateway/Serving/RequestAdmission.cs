using Microsoft.Extensions.Options;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// Bounds the ISO requests in flight in this gateway (<see cref="GatewayOptions.MaxConcurrentRequests"/>): past the
/// bound a request is turned away at once (503 with Retry-After, <see cref="IsoFailure.Overloaded"/>), never queued,
/// so a pile-up (a stalled cluster, a client opening connections without end) costs short answers, not memory.
/// </summary>
/// <remarks>
/// A counter rather than System.Threading.RateLimiting's <c>ConcurrencyLimiter</c> with a queue limit of 0, which has
/// the same semantics: the limiter takes a lock and hands out a new lease object for every admitted request, and the ASP.NET Core
/// rate-limiting middleware around it is routed by endpoint metadata this middleware-served path does not have (its
/// global limiter would also count the health endpoints, which must stay reachable under load). The serving path
/// allocates nothing per request, and admission keeps it so: a compare-and-swap and a struct.
/// </remarks>
internal sealed partial class RequestAdmission
{
    // Under overload every turned-away request would log; one line per interval says the same with a count.
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly int _limit;
    private readonly TimeProvider _time;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger<RequestAdmission> _logger;
    private int _inFlight;
    private long _rejectedSinceLog;
    private long _lastLoggedAt;

    public RequestAdmission(IOptions<GatewayOptions> options, TimeProvider time, GatewayMetrics metrics, ILogger<RequestAdmission> logger)
    {
        _limit = options.Value.MaxConcurrentRequests;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _lastLoggedAt = time.GetTimestamp() - (long)(LogInterval.TotalSeconds * time.TimestampFrequency);
        Overloaded = IsoFailure.Overloaded(_limit);
        metrics.ObserveInFlight(this);
    }

    /// <summary>How many requests are being served now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The answer for a request turned away, its reason formatted once rather than per refusal.</summary>
    public IsoFailure Overloaded { get; }

    /// <summary>
    /// Admits the request if fewer than the limit are in flight. Dispose the ticket when the response is done; a ticket
    /// that was not admitted releases nothing.
    /// </summary>
    public Ticket TryEnter()
    {
        // Compare-and-swap rather than increment-then-undo: an undo would briefly count a request that was never
        // admitted and could turn away one that should have been.
        var current = Volatile.Read(ref _inFlight);
        while (current < _limit)
        {
            var seen = Interlocked.CompareExchange(ref _inFlight, current + 1, current);
            if (seen == current)
            {
                return new Ticket(this);
            }

            current = seen;
        }

        Rejected();
        return default;
    }

    private void Exit() => Interlocked.Decrement(ref _inFlight);

    private void Rejected()
    {
        _metrics.RequestRejected();
        var rejected = Interlocked.Increment(ref _rejectedSinceLog);
        var last = Volatile.Read(ref _lastLoggedAt);
        if (_time.GetElapsedTime(last) >= LogInterval && Interlocked.CompareExchange(ref _lastLoggedAt, _time.GetTimestamp(), last) == last)
        {
            rejected = Interlocked.Exchange(ref _rejectedSinceLog, 0);
            LogOverloaded(_logger, rejected, _limit, LogInterval);
        }
    }

    /// <summary>An admission, released by <see cref="Dispose"/>; <c>default</c> when the request was turned away.</summary>
    internal readonly struct Ticket : IDisposable
    {
        private readonly RequestAdmission? _admission;

        public Ticket(RequestAdmission admission) => _admission = admission;

        /// <summary>Whether the request may be served.</summary>
        public bool Admitted => _admission is not null;

        public void Dispose() => _admission?.Exit();
    }

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Turned away {Rejected} ISO request(s) with 503: {Limit} were in flight (--max-concurrent-requests); at most one such line per {Interval}")]
    private static partial void LogOverloaded(ILogger logger, long rejected, int limit, TimeSpan interval);
}
