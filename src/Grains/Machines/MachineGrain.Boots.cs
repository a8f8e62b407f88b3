using Microsoft.Extensions.Logging;

namespace IsoCluster.Grains.Machines;

/// <summary>
/// The machine's boot progress: gateways report what they served about once a second, the grain adds it up (the
/// distinct bytes as a union of block bitmaps), decides when the boot has ended, and keeps the boot registry up to date.
/// </summary>
internal sealed partial class MachineGrain
{
    // Reports arrive about once a second per gateway; a shorter idle time would end a boot between two reports of reads.
    internal static readonly TimeSpan ShortestBootIdle = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan BootTick = TimeSpan.FromSeconds(1);

    // Progress alone reaches the registry this often at most, so a fleet's boots do not flood the one registry grain;
    // a change of state goes at the next tick.
    private static readonly TimeSpan RegistryProgressInterval = TimeSpan.FromSeconds(3);

    private BootProgress? _boot;
    private IGrainTimer? _bootTimer;
    private MachineBoot? _registered;
    private long _registeredAt;

    private bool HasBootInProgress => _boot is { Ended: false };

    // The same idle time that ends a boot's version pin, but never shorter than reports take to arrive.
    private TimeSpan BootIdle => _isoOptions.BootSessionIdle > ShortestBootIdle ? _isoOptions.BootSessionIdle : ShortestBootIdle;

    public async Task ReportReadsAsync(BootReadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var now = _time.GetTimestamp();
        if (_boot is null || _boot.IsOtherBoot(report))
        {
            // A report that began before the boot at hand comes from a gateway still reporting the boot before it.
            if (_boot is not null && report.FirstRead < _boot.FirstRead)
            {
                return;
            }

            // Errors alone (no plan was ever served) are recorded only for a machine that has Hardware: any client can
            // name any MAC, and the registry must list machines, not guesses.
            if (!BootProgress.IsReading(report) && _revision is null)
            {
                var lookup = await _hardware.FindAsync(_mac, CancellationToken.None);
                if (lookup.Machine is null)
                {
                    if (_boot is null)
                    {
                        DeactivateOnIdle();
                    }

                    return;
                }
            }

            if (_boot is { Ended: false } superseded)
            {
                EndBoot(superseded);
            }

            _boot = BootProgress.Start(_macText, report, now, _time.TimestampFrequency);
            _bootMetrics.Started();
            LogBootStarted(_logger, _macText, report.SourceIso ?? "(unknown)", report.VersionId ?? "(none)");
        }

        _boot.Add(report, now);

        // Reads of the pinned version are the boot going on, whether or not the gateway needed a fresh plan for them.
        if (BootProgress.IsReading(report) && report.VersionId is not null && _pinnedVersion?.Id == report.VersionId)
        {
            _lastReadAt = now;
        }

        _bootTimer ??= this.RegisterGrainTimer(
            static grain => grain.OnBootTickAsync(),
            this,
            new GrainTimerCreationOptions(BootTick, BootTick) { KeepAlive = true });
    }

    public ValueTask<MachineBoot?> GetBootAsync()
    {
        if (_boot is null && _revision is null)
        {
            // An operator asking about a MAC leaves no activation behind either.
            DeactivateOnIdle();
        }

        return ValueTask.FromResult(_boot?.Snapshot(_time.GetTimestamp()));
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Its silo is stopping or the grain moves: the boot is no longer in progress here, and reports start it afresh.
        if (HasBootInProgress)
        {
            _bootMetrics.Abandoned();
        }

        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    private Task OnBootTickAsync()
    {
        if (_boot is not { } boot)
        {
            StopBootTimer();
            return Task.CompletedTask;
        }

        var now = _time.GetTimestamp();
        if (boot.IsIdle(now, BootIdle))
        {
            EndBoot(boot);
        }

        var snapshot = boot.Snapshot(now);
        var stateChanged = _registered is null || _registered.State != snapshot.State;
        if (snapshot != _registered && (stateChanged || _time.GetElapsedTime(_registeredAt) >= RegistryProgressInterval))
        {
            // One-way: a registry that is slow or being moved must not hold up this machine's reports behind the tick.
            _ = GrainFactory.GetGrain<IBootRegistryGrain>(IBootRegistryGrain.Key).UpdateAsync(snapshot, _time.GetUtcNow());
            _registered = snapshot;
            _registeredAt = now;
        }

        if (boot.Ended && snapshot == _registered)
        {
            StopBootTimer();
        }

        return Task.CompletedTask;
    }

    private void EndBoot(BootProgress boot)
    {
        boot.End();
        _bootMetrics.Ended(boot.State);
        if (boot.State == BootState.Failed)
        {
            var error = boot.LastError!;
            LogBootFailed(_logger, _macText, error.StatusCode, error.Reason, boot.BytesServed, boot.Requests, boot.Duration);
        }
        else
        {
            LogBootFinished(_logger, _macText, boot.BytesServed, boot.Requests, boot.Duration, boot.DistinctBytes, boot.IsoLength);
        }
    }

    private void StopBootTimer()
    {
        _bootTimer?.Dispose();
        _bootTimer = null;
    }

    [LoggerMessage(EventId = 1210, Level = LogLevel.Information, Message = "Boot of {Mac} started: source {SourceIso}, version {VersionId}")]
    private static partial void LogBootStarted(ILogger logger, string mac, string sourceIso, string versionId);

    [LoggerMessage(EventId = 1211, Level = LogLevel.Information, Message = "Boot of {Mac} finished: {BytesServed} bytes in {Requests} requests over {Duration}; {DistinctBytes} of the ISO's {IsoLength} bytes read")]
    private static partial void LogBootFinished(ILogger logger, string mac, long bytesServed, long requests, TimeSpan duration, long distinctBytes, long isoLength);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Information, Message = "Boot of {Mac} failed: {StatusCode} {Reason} ({BytesServed} bytes in {Requests} requests over {Duration})")]
    private static partial void LogBootFailed(ILogger logger, string mac, int statusCode, string reason, long bytesServed, long requests, TimeSpan duration);
}
