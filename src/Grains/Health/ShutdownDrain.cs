using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Health;

/// <summary>
/// The first thing to run on SIGTERM: readiness turns false, and the process keeps serving for
/// <see cref="ShutdownOptions.ShutdownDelay"/> before the listener and the silo stop. In-flight work then has
/// <see cref="ShutdownOptions.DrainTimeout"/> (the host's shutdown timeout) to finish.
/// </summary>
public sealed partial class ShutdownDrain : IHostedLifecycleService
{
    private readonly ShutdownOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ShutdownDrain> _logger;
    private volatile bool _stopping;

    /// <summary>Creates the service.</summary>
    public ShutdownDrain(IOptions<ShutdownOptions> options, TimeProvider time, ILogger<ShutdownDrain> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Whether the process has been asked to stop; readiness checks fail from then on.</summary>
    public bool IsStopping => _stopping;

    /// <inheritdoc/>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        LogStopping(_logger, _options.ShutdownDelay.TotalSeconds, _options.DrainTimeout.TotalSeconds);
        if (_options.ShutdownDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(_options.ShutdownDelay, _time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The host's shutdown timeout ran out first; stop now.
            }
        }
    }

    /// <inheritdoc/>
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "Stopping: not ready from now on; serving {DelaySeconds} s more, then draining in-flight work for at most {DrainSeconds} s")]
    private static partial void LogStopping(ILogger logger, double delaySeconds, double drainSeconds);
}
