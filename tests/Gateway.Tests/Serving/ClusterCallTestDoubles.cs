using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using IsoCluster.Gateway.Serving;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Gateway.Tests.Serving;

/// <summary>Builds a <see cref="ClusterCallPolicy"/> with its log lines and retry counts captured.</summary>
internal sealed class ClusterCallHarness : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly TestMeterFactory _meters = new();

    public ClusterCallHarness(ClusterCallOptions? options = null, TimeProvider? time = null)
    {
        Options = options ?? new ClusterCallOptions();
        Time = time ?? TimeProvider.System;
        var metrics = Metrics = new GatewayMetrics(_meters);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Other tests' harnesses run in parallel with meters of the same name; count only this one's.
            if (_meters.Owns(instrument.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            Measurements.Enqueue((instrument.Name, value, tags.ToArray())));
        _listener.Start();
        Policy = new ClusterCallPolicy(Microsoft.Extensions.Options.Options.Create(Options), Time, metrics, Log);
    }

    public ClusterCallOptions Options { get; }

    public GatewayMetrics Metrics { get; }

    public TimeProvider Time { get; }

    public ListLogger<ClusterCallPolicy> Log { get; } = new();

    public ConcurrentQueue<(string Instrument, long Value, KeyValuePair<string, object?>[] Tags)> Measurements { get; } = new();

    public ClusterCallPolicy Policy { get; }

    public long Count(string instrument) => Measurements.Where(m => m.Instrument == instrument).Sum(m => m.Value);

    /// <summary>The sum of every measurement with tag <paramref name="key"/> = <paramref name="value"/>.</summary>
    public long CountTagged(string key, string value) =>
        Measurements.Where(m => m.Tags.Any(t => t.Key == key && Equals(t.Value, value))).Sum(m => m.Value);

    public void Dispose()
    {
        _listener.Dispose();
        _meters.Dispose();
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public bool Owns(Meter meter) => _meters.Contains(meter);

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }
}

/// <summary>A logger that keeps every line, formatted, with its level and event id.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
}

/// <summary>
/// The system clock, but every timer it makes is recorded with its due time, so a test can see the backoff delays
/// the policy asked for (attempt timeouts start at infinity and are set later, so they are not among them), and every
/// later change of a timer's due time (the attempt timeouts: CancellationTokenSource.CancelAfter).
/// </summary>
internal sealed class RecordingTimeProvider : TimeProvider
{
    public ConcurrentQueue<TimeSpan> DueTimes { get; } = new();

    public ConcurrentQueue<TimeSpan> Changes { get; } = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        DueTimes.Enqueue(dueTime);
        return new RecordingTimer(System.CreateTimer(callback, state, dueTime, period), Changes);
    }

    private sealed class RecordingTimer(ITimer timer, ConcurrentQueue<TimeSpan> changes) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            changes.Enqueue(dueTime);
            return timer.Change(dueTime, period);
        }

        public void Dispose() => timer.Dispose();

        public ValueTask DisposeAsync() => timer.DisposeAsync();
    }
}

/// <summary>A scripted grain call: each attempt takes the next step; a null step waits for the attempt's token.</summary>
internal sealed class ScriptedCall
{
    private readonly Func<int, CancellationToken, Task<string>>[] _steps;
    private int _attempts;

    public ScriptedCall(params Func<int, CancellationToken, Task<string>>[] steps) => _steps = steps;

    public int Attempts => Volatile.Read(ref _attempts);

    public ConcurrentQueue<CancellationToken> Tokens { get; } = new();

    public static Func<ScriptedCall, CancellationToken, ValueTask<string>> Invoke { get; } =
        static (call, cancellationToken) => new ValueTask<string>(call.NextAsync(cancellationToken));

    public static Func<int, CancellationToken, Task<string>> Returns(string value) => (_, _) => Task.FromResult(value);

    public static Func<int, CancellationToken, Task<string>> Throws(Exception exception) => (_, _) => Task.FromException<string>(exception);

    // What an Orleans call does when its cancellation token fires: it completes as cancelled.
    public static Func<int, CancellationToken, Task<string>> Hangs() => async (_, cancellationToken) =>
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return "never";
    };

    private Task<string> NextAsync(CancellationToken cancellationToken)
    {
        var attempt = Interlocked.Increment(ref _attempts);
        Tokens.Enqueue(cancellationToken);
        return _steps[Math.Min(attempt, _steps.Length) - 1](attempt, cancellationToken);
    }
}

/// <summary>
/// A clock that moves only when a test fires its next timer, so attempt timeouts, backoffs and the deadline are exact
/// whatever the load on the machine. One-shot timers only: the policy arms nothing periodic.
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private long _now;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Whether a timer is armed, that is, whether the code under test is waiting for time to pass.</summary>
    public bool HasArmedTimer()
    {
        lock (_lock)
        {
            return _timers.Exists(t => t.Due is not null);
        }
    }

    /// <summary>Moves the clock to the earliest armed timer and fires it; false when none is armed.</summary>
    public bool TryFireNext()
    {
        ManualTimer? next = null;
        lock (_lock)
        {
            foreach (var timer in _timers)
            {
                if (timer.Due is { } due && (next is null || due < next.Due))
                {
                    next = timer;
                }
            }

            if (next is null)
            {
                return false;
            }

            _now = Math.Max(_now, next.Due!.Value);
            next.Due = null;
        }

        next.Fire();
        return true;
    }

    /// <summary>Moves the clock on by <paramref name="delta"/>, firing in order every timer that falls due on the way.</summary>
    public void Advance(TimeSpan delta)
    {
        long target;
        lock (_lock)
        {
            target = _now + delta.Ticks;
        }

        while (true)
        {
            ManualTimer? next = null;
            lock (_lock)
            {
                foreach (var timer in _timers)
                {
                    if (timer.Due is { } due && due <= target && (next is null || due < next.Due))
                    {
                        next = timer;
                    }
                }

                if (next is null)
                {
                    _now = target;
                    return;
                }

                _now = Math.Max(_now, next.Due!.Value);
                next.Due = null;
            }

            next.Fire();
        }
    }

    /// <summary>Fires timers, as the code under test arms them, until <paramref name="task"/> completes.</summary>
    public async Task RunUntilCompleteAsync(Task task)
    {
        var limit = Stopwatch.StartNew();
        while (!task.IsCompleted)
        {
            if (!TryFireNext())
            {
                // The code under test runs on the thread pool between timers; give it the moment it needs.
                await Task.Delay(1);
            }

            if (limit.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("The code under test neither completed nor armed a timer.");
            }
        }
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime)
    {
        lock (_lock)
        {
            timer.Due = dueTime == Timeout.InfiniteTimeSpan ? null : _now + dueTime.Ticks;
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        // Guarded by the owner's lock: when the timer fires, in timestamp ticks; null when disarmed.
        public long? Due { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Arm(this, dueTime);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
