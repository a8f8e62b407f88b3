using System.Collections.Immutable;
using System.Text.Json;
using IsoCluster.Grains.Machines;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hardware.Kubernetes;

/// <summary>
/// Serves Hardware objects (<c>hardware.tinkerbell.org/v1alpha1</c>) listed and then watched through the Kubernetes
/// API, in <see cref="HardwareOptions.Namespace"/> or in every namespace.
/// </summary>
/// <remarks>
/// <para>
/// KubernetesClient has no informer, so this is one: list (in pages) at a resource version, then watch from it with
/// bookmarks. Each event changes an immutable <see cref="HardwareSnapshot"/> that replaces the previous one in a
/// single write, so lookups are in-memory, lock-free, and never see half an event. Every silo keeps its own
/// snapshot, because machine grains look Hardware up where they run.
/// </para>
/// <para>
/// Bookmarks advance the resource version a watch resumes from. A watch that ends (server timeout, dropped
/// connection) resumes from the last resource version without a list; a 410 Gone (history compacted past it) means a
/// new list, which replaces the snapshot whole. Failures are retried with exponential backoff and jitter, up to
/// <see cref="HardwareOptions.RetryMaxDelay"/>, while lookups keep answering from the last good snapshot. The source
/// is not ready until the first list has loaded.
/// </para>
/// <para>
/// An object that fails validation is logged (namespace, name, field) and left out; the others load. Unlike the file
/// source, which keeps the last good file, an invalid edit removes the object: every silo must reach the same answer
/// from the same API state, whatever it happened to see before.
/// </para>
/// </remarks>
public sealed partial class KubernetesHardwareSource : IHardwareSource, IHostedService, IDisposable
{
    internal const string Group = "tinkerbell.org";
    internal const string Version = "v1alpha1";
    internal const string Plural = "hardware";

    private const string SourceName = "Kubernetes API";

    // client-go's reflector asks for a watch of 5 to 10 minutes, so that connections are renewed well before a load
    // balancer or proxy drops them silently; the spread keeps silos from renewing in step.
    private const int MinWatchSeconds = 300;
    private const int MaxWatchSeconds = 600;

    // A watch the server should have closed by now is presumed dead (a half-open connection sends nothing).
    private static readonly TimeSpan WatchGrace = TimeSpan.FromSeconds(60);

    private readonly HardwareOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<KubernetesHardwareSource> _logger;
    private readonly Lock _lock = new();

    // Only the loop uses it, one event at a time.
    private readonly HardwareStringPool _pool = new();
    private readonly string _scope;

    // Replaced whole, never mutated, so lookups read it without the lock.
    private volatile HardwareSnapshot? _snapshot;
    private volatile string? _lastError;
    private CancellationTokenSource? _stopping;
    private Task? _loop;
    private k8s.Kubernetes? _client;
    private bool _disposed;

    /// <summary>Creates the source; nothing is read until <see cref="StartAsync"/>.</summary>
    /// <param name="options">The namespace, kubeconfig, retry delays and list page size.</param>
    /// <param name="timeProvider">Drives retry delays and the watch timeout.</param>
    /// <param name="logger">Receives lists, skipped objects, MAC conflicts and failures.</param>
    public KubernetesHardwareSource(IOptions<HardwareOptions> options, TimeProvider timeProvider, ILogger<KubernetesHardwareSource> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
        _scope = string.IsNullOrEmpty(_options.Namespace) ? "in any namespace" : $"in namespace '{_options.Namespace}'";
    }

    /// <inheritdoc/>
    public string? NotReadyReason => _snapshot is not null
        ? null
        : "Hardware from the Kubernetes API (--hardware-source kubernetes) is not loaded yet" + (_lastError is { } error ? ": " + error : "");

    /// <summary>The resource version the next watch resumes from, or null before the first list.</summary>
    internal string? ResourceVersion => _snapshot?.ResourceVersion;

    /// <summary>The current snapshot, or null before the first list.</summary>
    internal HardwareSnapshot? Snapshot => _snapshot;

    /// <inheritdoc/>
    public IReadOnlyCollection<string> SourceIsos => _snapshot?.SourceIsos ?? [];

    /// <inheritdoc/>
    public ValueTask<HardwareLookup> FindAsync(MacAddress mac, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is null)
        {
            return ValueTask.FromResult(HardwareLookup.Unavailable(NotReadyReason ?? "Hardware is not loaded"));
        }

        if (snapshot.TryFind(mac, out var machine, out var claimants))
        {
            return ValueTask.FromResult(HardwareLookup.Found(machine));
        }

        return ValueTask.FromResult(HardwareLookup.NotFound(claimants.IsEmpty
            ? $"no Hardware object {_scope} of the Kubernetes API has an interface with MAC {mac}"
            : $"MAC {mac} is claimed by Hardware {Describe(claimants)}; none of them boots until only one has it"));
    }

    /// <summary>Checks how to reach the API server and starts listing and watching in the background.</summary>
    /// <param name="cancellationToken">Unused: nothing here waits for the API server.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="InvalidOperationException">No usable kubeconfig or service account; the message names the flag.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_loop is not null)
            {
                return Task.CompletedTask;
            }

            var configuration = KubernetesConnection.Configure(_options);
            _client = new k8s.Kubernetes(configuration, new WatchConnectionHandler());
            _stopping = new CancellationTokenSource();
            LogStarting(_logger, configuration.Host ?? "", _scope);
            var client = _client;
            var stopping = _stopping.Token;
            _loop = Task.Run(() => RunAsync(client, stopping), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    /// <summary>Stops watching; lookups keep answering from the last snapshot.</summary>
    /// <param name="cancellationToken">Bounds the wait for the loop to end.</param>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task? loop;
        lock (_lock)
        {
            _stopping?.Cancel();
            loop = _loop;
        }

        if (loop is not null)
        {
            try
            {
                await loop.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The host's shutdown deadline passed; the loop ends on its own once its request is cancelled.
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stopping?.Cancel();
            _stopping?.Dispose();
            _client?.Dispose();
        }
    }

    private static string Describe(ImmutableArray<HardwareKey> claimants) => string.Join(" and ", claimants.Select(c => $"'{c}'"));

    private async Task RunAsync(IKubernetes client, CancellationToken stopping)
    {
        // Null until a list succeeds, and again after a 410 Gone: the next step is a list.
        string? resourceVersion = null;
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    resourceVersion = await ListAsync(client, stopping);
                }

                var watch = await WatchAsync(client, resourceVersion, stopping);
                resourceVersion = watch.Gone ? null : watch.ResourceVersion;

                // Only a watch that delivered something proves the server healthy: one that fails or closes at once,
                // or 410s right after every list, must not become a tight loop. A failure after progress still
                // waits the first delay, so a connection that breaks after every event cannot spin either.
                if (watch.Gone)
                {
                    failures = watch.Progressed ? 0 : failures + 1;
                    LogRelisting(_logger, watch.Reason ?? "410 Gone", watch.ResourceVersion);
                }
                else if (watch.Reason is { } reason)
                {
                    failures = watch.Progressed ? 1 : failures + 1;
                    _lastError = reason;
                    LogWatchFailed(_logger, failures, watch.ResourceVersion, reason);
                }
                else
                {
                    failures = watch.Progressed ? 0 : failures + 1;
                    LogWatchClosed(_logger, watch.ResourceVersion);
                }

                if (failures == 0)
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (IsApiFailure(ex))
            {
                failures++;
                var reason = DescribeFailure(ex);
                _lastError = reason;

                // Only a list throws: a watch reports how it ended. The next attempt is a list again, from scratch.
                resourceVersion = null;
                LogListFailed(_logger, ex, failures, _snapshot is null ? "not ready until a list succeeds" : "lookups keep the last good data", reason);
            }
            catch (Exception ex)
            {
                // A bug, not the API: still no reason to stop serving changes. Start over with a list.
                failures++;
                resourceVersion = null;
                _lastError = ex.Message;
                LogUnexpectedFailure(_logger, ex, failures);
            }

            var delay = Backoff(failures);
            LogRetrying(_logger, delay, failures);
            try
            {
                await Task.Delay(delay, _time, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Exponential from <see cref="HardwareOptions.RetryInitialDelay"/>, capped at <see cref="HardwareOptions.RetryMaxDelay"/>,
    /// with "equal jitter" (half fixed, half random): silos that lost the API server together do not come back in
    /// step, and no retry comes back immediately.
    /// </summary>
    private TimeSpan Backoff(int failures)
    {
        var exponent = Math.Min(Math.Max(failures - 1, 0), 30);
        var ceiling = Math.Min(_options.RetryInitialDelay.TotalMilliseconds * Math.Pow(2, exponent), _options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }

    internal static bool IsApiFailure(Exception ex) =>
        ex is HttpOperationException or HttpRequestException or IOException or KubernetesException
            or k8s.Exceptions.KubernetesClientException or JsonException or InvalidDataException
            or OperationCanceledException;

    internal static string DescribeFailure(Exception ex) => ex switch
    {
        HttpOperationException http => $"HTTP {(int)http.Response.StatusCode} from {http.Request?.RequestUri?.GetLeftPart(UriPartial.Path)}: {StatusMessage(http.Response.Content)}",
        EndOfStreamException => "the API server closed the connection before sending anything",
        OperationCanceledException => "the request timed out",
        _ => ex.Message,
    };

    private static string StatusMessage(string? body)
    {
        if (string.IsNullOrEmpty(body))
        {
            return "(no body)";
        }

        try
        {
            if (KubernetesJson.Deserialize<V1Status>(body) is { Message: { Length: > 0 } message })
            {
                return message;
            }
        }
        catch (JsonException)
        {
            // Not a Status object (a proxy's HTML page, say): the start of the body says enough.
        }

        return body.Length <= 200 ? body : body[..200];
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information,
        Message = "Listing and watching Hardware {Scope} through the Kubernetes API at {Server}")]
    private static partial void LogStarting(ILogger logger, string server, string scope);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning,
        Message = "Listing Hardware from the Kubernetes API failed ({Failures} in a row; {Serving}): {Reason}")]
    private static partial void LogListFailed(ILogger logger, Exception exception, int failures, string serving, string reason);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning,
        Message = "Watching Hardware from resource version {ResourceVersion} failed ({Failures} in a row; lookups keep the last good data): {Reason}")]
    private static partial void LogWatchFailed(ILogger logger, int failures, string resourceVersion, string reason);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information,
        Message = "Listing Hardware again: the watch from resource version {ResourceVersion} cannot go on ({Reason})")]
    private static partial void LogRelisting(ILogger logger, string reason, string resourceVersion);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Debug,
        Message = "The Hardware watch ended; resuming from resource version {ResourceVersion}")]
    private static partial void LogWatchClosed(ILogger logger, string resourceVersion);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Error,
        Message = "Listing or watching Hardware failed unexpectedly ({Failures} in a row); listing again after a delay")]
    private static partial void LogUnexpectedFailure(ILogger logger, Exception exception, int failures);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Debug, Message = "Retrying the Hardware list or watch in {Delay} (failure {Failures})")]
    private static partial void LogRetrying(ILogger logger, TimeSpan delay, int failures);
}
