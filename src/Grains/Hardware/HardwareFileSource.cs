using IsoCluster.Grains.Machines;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hardware;

/// <summary>
/// Serves Hardware objects from the YAML file in <see cref="HardwareOptions.File"/>, re-reading it when it changes.
/// </summary>
/// <remarks>
/// The file is read when the host starts, and a missing or invalid file fails the start with a message naming the
/// file, document and field. Lookups that arrive before the start (hosted services start in registration order)
/// read the file themselves. Afterwards a file-system watcher (debounced, because editors write in several steps)
/// and a poll every <see cref="HardwareOptions.PollInterval"/> (for file systems without events, and ConfigMap
/// symlink swaps) pick up edits; an invalid edit is logged and the last good data kept.
/// </remarks>
public sealed partial class HardwareFileSource : IHardwareSource, IHostedService, IDisposable
{
    /// <summary>The reason given by lookups when <see cref="HardwareOptions.File"/> is not set.</summary>
    public const string NotConfiguredReason = "no Hardware source is configured (--hardware-file)";

    // Long enough to coalesce the truncate/write/rename bursts of editors and `kubectl cp`, short enough to feel instant.
    private static readonly TimeSpan DebounceDelay = TimeSpan.FromMilliseconds(250);

    private readonly HardwareOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<HardwareFileSource> _logger;
    private readonly Lock _lock = new();

    // Replaced whole, never mutated, so lookups read it without the lock.
    private volatile HardwareIndex? _index;
    private string? _lastError;
    private HardwareFileStamp? _lastAttempt;
    private string? _lastFingerprint;
    private FileSystemWatcher? _watcher;
    private ITimer? _pollTimer;
    private ITimer? _debounceTimer;
    private bool _disposed;

    /// <summary>Creates the source; nothing is read until <see cref="StartAsync"/> or the first lookup.</summary>
    /// <param name="options">Where the file is and how often to poll it.</param>
    /// <param name="timeProvider">Drives the poll and debounce timers.</param>
    /// <param name="logger">Receives reloads and rejected edits.</param>
    public HardwareFileSource(IOptions<HardwareOptions> options, TimeProvider timeProvider, ILogger<HardwareFileSource> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    private string? FilePath => string.IsNullOrWhiteSpace(_options.File) ? null : _options.File;

    /// <inheritdoc/>
    public string? NotReadyReason => FilePath is not { } path
        ? NotConfiguredReason
        : _index is null ? _lastError ?? $"Hardware file '{path}' is not loaded yet" : null;

    /// <inheritdoc/>
    public IReadOnlyCollection<string> SourceIsos => _index?.SourceIsos ?? [];

    /// <inheritdoc/>
    public ValueTask<HardwareLookup> FindAsync(MacAddress mac, CancellationToken cancellationToken)
    {
        if (FilePath is not { } path)
        {
            return ValueTask.FromResult(HardwareLookup.Unavailable(NotConfiguredReason));
        }

        var index = _index;
        if (index is null)
        {
            string? error;
            lock (_lock)
            {
                index = _index ?? LoadFirst(path, throwOnError: false);
                error = _lastError;
            }

            if (index is null)
            {
                return ValueTask.FromResult(HardwareLookup.Unavailable(error ?? $"Hardware file '{path}' is not loaded"));
            }
        }

        return ValueTask.FromResult(index.TryGetMachine(mac, out var machine)
            ? HardwareLookup.Found(machine)
            : HardwareLookup.NotFound($"no Hardware object in '{path}' has an interface with MAC {mac}"));
    }

    /// <summary>Reads the file and starts watching it.</summary>
    /// <param name="cancellationToken">Unused: the read is short and synchronous.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="InvalidOperationException">The file is missing, unreadable or invalid; the message says where.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (FilePath is not { } path)
        {
            LogNotConfigured(_logger);
            return Task.CompletedTask;
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_index is null)
            {
                LoadFirst(path, throwOnError: true);
            }

            StartWatching(path);
        }

        return Task.CompletedTask;
    }

    /// <summary>Stops watching the file; lookups keep answering from the last good data.</summary>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>A completed task.</returns>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            StopWatching();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            StopWatching();
        }
    }

    private HardwareIndex? LoadFirst(string path, bool throwOnError)
    {
        // Without a successful start nothing else re-reads the file, so lookups retry, but only after it changed.
        if (!throwOnError && _lastError is not null && HardwareFileReader.GetStamp(path) == _lastAttempt)
        {
            return null;
        }

        var read = HardwareFileReader.Read(path);
        _lastAttempt = read.Stamp;
        _lastFingerprint = read.Fingerprint;
        if (read.Index is null)
        {
            _lastError = read.Error;
            return throwOnError ? throw new InvalidOperationException(read.Error ?? $"Hardware file '{path}' cannot be read") : null;
        }

        _index = read.Index;
        _lastError = null;
        LogLoaded(_logger, path, read.Index.Count, read.Index.HardwareObjectCount);
        return read.Index;
    }

    private void StartWatching(string path)
    {
        if (_pollTimer is not null)
        {
            return;
        }

        _pollTimer = _timeProvider.CreateTimer(static s => ((HardwareFileSource)s!).Reload(force: false), this, _options.PollInterval, _options.PollInterval);
        _debounceTimer = _timeProvider.CreateTimer(static s => ((HardwareFileSource)s!).Reload(force: true), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        try
        {
            var fullPath = Path.GetFullPath(path);
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(fullPath)!, Path.GetFileName(fullPath))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += OnFileEvent;
            _watcher.Created += OnFileEvent;
            _watcher.Deleted += OnFileEvent;
            _watcher.Renamed += OnFileEvent;
            _watcher.Error += OnWatcherError;
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // Out of inotify watches, or a file system without events: the poll still notices edits, just later.
            _watcher?.Dispose();
            _watcher = null;
            LogWatchFailed(_logger, ex, path, _options.PollInterval);
        }
    }

    private void StopWatching()
    {
        _watcher?.Dispose();
        _watcher = null;
        _pollTimer?.Dispose();
        _pollTimer = null;
        _debounceTimer?.Dispose();
        _debounceTimer = null;
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        lock (_lock)
        {
            _debounceTimer?.Change(DebounceDelay, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnWatcherError(object sender, ErrorEventArgs e) =>
        LogWatchFailed(_logger, e.GetException(), FilePath ?? "", _options.PollInterval);

    /// <summary>Re-reads the file if it changed (or unconditionally after a file event), keeping the last good data.</summary>
    private void Reload(bool force)
    {
        lock (_lock)
        {
            if (_disposed || FilePath is not { } path)
            {
                return;
            }

            // The stamp check keeps the poll cheap and stops an invalid file from being re-parsed and re-reported
            // every interval; a file event bypasses it because an in-place edit within one timestamp tick can keep
            // both the time and the size.
            var stamp = HardwareFileReader.GetStamp(path);
            if (!force && stamp == _lastAttempt)
            {
                return;
            }

            var read = HardwareFileReader.Read(path);
            _lastAttempt = read.Stamp;

            // One save raises several file events, some after the debounce has already fired: the same content
            // read again is no news and must not be logged again.
            if (read.Fingerprint == _lastFingerprint)
            {
                return;
            }

            _lastFingerprint = read.Fingerprint;
            if (read.Index is null)
            {
                _lastError = read.Error;
                LogEditRejected(_logger, path, read.Error ?? "");
                return;
            }

            _index = read.Index;
            _lastError = null;
            LogReloaded(_logger, path, read.Index.Count, read.Index.HardwareObjectCount);
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
        Message = "Loaded {MachineCount} machines from {HardwareCount} Hardware objects in {HardwareFile}")]
    private static partial void LogLoaded(ILogger logger, string hardwareFile, int machineCount, int hardwareCount);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "Reloaded {HardwareFile}: {MachineCount} machines from {HardwareCount} Hardware objects")]
    private static partial void LogReloaded(ILogger logger, string hardwareFile, int machineCount, int hardwareCount);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
        Message = "Ignoring the edit of {HardwareFile} and keeping the last good Hardware data: {Reason}")]
    private static partial void LogEditRejected(ILogger logger, string hardwareFile, string reason);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "Cannot watch {HardwareFile} for changes; edits are noticed by polling every {PollInterval}")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string hardwareFile, TimeSpan pollInterval);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information,
        Message = "No Hardware file is configured (--hardware-file); every Hardware lookup will answer Unavailable")]
    private static partial void LogNotConfigured(ILogger logger);
}
