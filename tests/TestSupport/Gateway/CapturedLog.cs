using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace IsoCluster.TestSupport;

/// <summary>One line a gateway logged.</summary>
/// <param name="Level">Its level.</param>
/// <param name="Category">The logger category, e.g. <c>IsoCluster.Gateway.Serving.IsoEndpoint</c>.</param>
/// <param name="EventId">Its event id.</param>
/// <param name="Message">The formatted message.</param>
public sealed record LogLine(LogLevel Level, string Category, EventId EventId, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Level} {Category}[{EventId.Id}]: {Message}";
}

/// <summary>
/// Collects what one gateway (and the silo it embeds) logs, so tests can check that a failed boot is reported to
/// the operator with the MAC, upstream and cause (DESIGN invariant 7), not only answered with a status code.
/// </summary>
public sealed class CapturedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    /// <summary>Every line so far, in the order logged.</summary>
    public IReadOnlyList<LogLine> Lines => [.. _lines];

    /// <summary>How many lines have been logged so far: pass it to <see cref="LinesSince"/> to see only what follows.</summary>
    public int Mark() => _lines.Count;

    /// <summary>The lines logged after <paramref name="mark"/> was taken (the gateway is shared by many tests).</summary>
    public IReadOnlyList<LogLine> LinesSince(int mark) => [.. _lines.Skip(mark)];

    /// <summary>The lines at <see cref="LogLevel.Error"/> or above that contain every one of <paramref name="fragments"/>.</summary>
    public IReadOnlyList<LogLine> ErrorsContaining(params string[] fragments) =>
        [.. _lines.Where(line => line.Level >= LogLevel.Error && fragments.All(f => line.Message.Contains(f, StringComparison.Ordinal)))];

    /// <summary>A readable dump for assertion messages.</summary>
    public string Describe(LogLevel minimum = LogLevel.Warning) =>
        string.Join(Environment.NewLine, _lines.Where(line => line.Level >= minimum));

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
        // The lines stay readable after the host is gone: tests often inspect them after disposing it.
    }

    private sealed class Logger(CapturedLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (exception is not null)
            {
                message += " | " + exception.GetType().Name + ": " + exception.Message;
            }

            owner._lines.Enqueue(new LogLine(logLevel, category, eventId, message));
        }
    }
}
