using System.Diagnostics.Metrics;

namespace IsoCluster.Grains.Machines;

/// <summary>
/// Machine boots on this silo (the silo hosting each machine's grain): started, finished, failed, and in progress. Summed
/// over the silos they count the fleet's boots.
/// </summary>
public sealed class BootMetrics
{
    private readonly Counter<long> _started;
    private readonly Counter<long> _finished;
    private readonly Counter<long> _failed;
    private readonly UpDownCounter<long> _inProgress;

    /// <summary>Creates the instruments on the silo's meter.</summary>
    public BootMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(GrainsMetrics.MeterName);
        _started = meter.CreateCounter<long>("isocluster.boots.started", "{boot}", "Machine boots started: a machine's first request, or its first after its last boot ended.");
        _finished = meter.CreateCounter<long>("isocluster.boots.finished", "{boot}", "Machine boots that ended with a successful read, idle for --iso-boot-session-idle.");
        _failed = meter.CreateCounter<long>("isocluster.boots.failed", "{boot}", "Machine boots that ended with an error answer and no successful read since.");
        _inProgress = meter.CreateUpDownCounter<long>("isocluster.boots.in_progress", "{boot}", "Machine boots started and not yet ended.");
    }

    /// <summary>A boot started.</summary>
    public void Started()
    {
        _started.Add(1);
        _inProgress.Add(1);
    }

    /// <summary>A boot ended, finished or failed.</summary>
    public void Ended(BootState state)
    {
        (state == BootState.Failed ? _failed : _finished).Add(1);
        _inProgress.Add(-1);
    }

    /// <summary>A boot whose grain went away before it ended (its silo stopping): no longer in progress here.</summary>
    public void Abandoned() => _inProgress.Add(-1);
}
