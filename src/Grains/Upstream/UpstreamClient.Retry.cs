using System.Threading.RateLimiting;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace IsoCluster.Grains.Upstream;

/// <summary>How <see cref="UpstreamClient"/> retries a fetch and shares out fetch slots.</summary>
public sealed partial class UpstreamClient
{
    private static async Task<T> RunAsync<T>(ResiliencePipeline<T> pipeline, Func<Fetch, CancellationToken, Task<T>> attempt, Fetch fetch, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(FetchKey, fetch);
        try
        {
            return await pipeline.ExecuteAsync(
                static (context, state) => new ValueTask<T>(state.Attempt(state.Fetch, context.CancellationToken)),
                context,
                (Attempt: attempt, Fetch: fetch));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private ResiliencePipeline<T> BuildRetry<T>(Func<T, UpstreamRead> outcome)
    {
        if (_options.MaxAttempts < 2)
        {
            return ResiliencePipeline<T>.Empty;
        }

        return new ResiliencePipelineBuilder<T> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<T>
            {
                MaxRetryAttempts = _options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.BaseBackoff,
                MaxDelay = _options.MaxBackoff,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is null && ShouldRetry(outcome(args.Outcome.Result!), args.Context.Properties.GetValue(FetchKey, null!))),
                OnRetry = args =>
                {
                    var fetch = args.Context.Properties.GetValue(FetchKey, null!);
                    var failed = outcome(args.Outcome.Result!);
                    _retries.Add(1, new KeyValuePair<string, object?>("status", failed.Status.ToString()));
                    LogRetrying(_logger, fetch.Source.DisplayUrl, fetch.What, args.AttemptNumber + 1, failed.Status, failed.Reason, (long)args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    // Only while the longest backoff still ends inside the deadline, so that no attempt starts after it and the gateway,
    // whose own retry waits on this fetch, gets an answer in time.
    private bool ShouldRetry(UpstreamRead failure, Fetch fetch) =>
        failure.Status != UpstreamStatus.Ok
        && failure.Transient
        && _time.GetElapsedTime(fetch.StartedAt) + _options.MaxBackoff <= _options.RetryDeadline;

    // The wait counts against the fetch's retry deadline: past it the BMC is better told to come back (503) than kept.
    private ValueTask<(RateLimitLease? Lease, UpstreamRead Refusal)> AcquireSlotAsync(Fetch fetch, CancellationToken cancellationToken) =>
        _slots.AcquireAsync(
            UpstreamFetchSlots.ServerOf(fetch.Source),
            _options.RetryDeadline - _time.GetElapsedTime(fetch.StartedAt),
            _time,
            cancellationToken);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Upstream {Url}: attempt {Attempt} at {What} failed with {Status}: {Reason}; retrying in {DelayMs} ms")]
    private static partial void LogRetrying(ILogger logger, string url, string what, int attempt, UpstreamStatus status, string? reason, long delayMs);

    /// <summary>One fetch through its attempts: what it reads, when it began, how many attempts it made.</summary>
    private sealed class Fetch(UpstreamClient client, IsoSource source, IsoVersion? version, long offset, int length, Func<Memory<byte>> destination, string what, long startedAt)
    {
        private Memory<byte>? _destination;

        public UpstreamClient Client { get; } = client;

        public IsoSource Source { get; } = source;

        public IsoVersion? Version { get; } = version;

        public long Offset { get; } = offset;

        public int Length { get; } = length;

        // Asked for by the first attempt that gets a slot, and kept for the attempts after it.
        public Memory<byte> Destination => _destination ??= destination();

        public string What { get; } = what;

        public long StartedAt { get; } = startedAt;

        public int Attempts { get; set; }
    }
}
