using System.Collections.Concurrent;
using IsoCluster.Gateway.Caching;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.BootReports;

/// <summary>Which reads add up together: one machine's, of one version of its source ISO (null before one was read).</summary>
internal readonly record struct ReadsKey(MacAddress Mac, string? VersionId);

/// <summary>
/// Boot progress without a grain call per request: the serving path adds each request to its machine's
/// <see cref="MachineReads"/> in memory, and once a second every machine that had requests gets one report,
/// <see cref="IMachineGrain.ReportReadsAsync"/>, which its grain adds to the boot (whatever gateways served it).
/// </summary>
/// <remarks>
/// A report the grain does not take (a silo lost, the cluster not yet joined) is put back and goes with the next one,
/// so what a BMC read is counted once the cluster answers; one whose answer timed out is not, as the grain may have
/// taken it. Reads nobody added to for a few minutes are dropped.
/// </remarks>
internal sealed partial class BootReadTracker : BackgroundService
{
    /// <summary>How often each machine's reads are reported.</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(1);

    // Well past any one response (the slowest is a whole ISO at Kestrel's minimum data rate, cut off long before).
    private static readonly TimeSpan RetireAfter = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<ReadsKey, MachineReads> _reads = new();
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly ILogger<BootReadTracker> _logger;
    private readonly long _retireAfter;

    public BootReadTracker(IGrainFactory grains, TimeProvider time, ILogger<BootReadTracker> logger)
    {
        _grains = grains;
        _time = time;
        _logger = logger;
        _retireAfter = (long)(RetireAfter.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>Now, as a <see cref="TimeProvider"/> timestamp.</summary>
    public long Now => _time.GetTimestamp();

    /// <summary>The reads of a machine that has a plan to serve: no allocation once they exist.</summary>
    public MachineReads For(MacAddress mac, ServedPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var key = new ReadsKey(mac, plan.Version.Id);
        return _reads.GetOrAdd(key, static (key, state) => new MachineReads(state.Tracker, key, state.Plan.Mac, state.Plan.Plan.Source.DisplayUrl, state.Plan.Version.Length, state.Tracker.Now), (Tracker: this, Plan: plan));
    }

    /// <summary>
    /// A request of a machine that got no plan: a refused plan or an upstream or cluster failure before one. A MAC no
    /// Hardware has is not recorded (the caller leaves those out): any client can name any MAC.
    /// </summary>
    public void Failed(MacAddress mac, IsoSource? source, in IsoFailure failure)
    {
        var key = new ReadsKey(mac, null);
        var reads = _reads.GetOrAdd(key, static (key, state) => new MachineReads(state.Tracker, key, key.Mac.ToString(), state.Source?.DisplayUrl, 0, state.Tracker.Now), (Tracker: this, Source: source));
        reads.Answered(ReadOutcome.Failure, _time.GetUtcNow(), failure);
    }

    /// <summary>Now, for a request's answer.</summary>
    public DateTimeOffset UtcNow => _time.GetUtcNow();

    /// <summary>Puts retired reads that got a late addition back, so it is reported.</summary>
    public void Revive(MachineReads reads)
    {
        ArgumentNullException.ThrowIfNull(reads);
        _reads.TryAdd(reads.Key, reads);
    }

    /// <summary>Sends every pending report and drops reads long idle; one pass of the loop, for tests too.</summary>
    public async Task ReportAsync()
    {
        var now = _time.GetTimestamp();
        var utcNow = _time.GetUtcNow();
        List<Task>? sends = null;
        foreach (var (key, reads) in _reads)
        {
            if (reads.TakeReport(utcNow) is { } report)
            {
                (sends ??= []).Add(SendAsync(reads, report));
            }
            else if (reads.TryRetire(now, _retireAfter))
            {
                _reads.TryRemove(new KeyValuePair<ReadsKey, MachineReads>(key, reads));
            }
        }

        if (sends is not null)
        {
            await Task.WhenAll(sends);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReportInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await ReportAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private async Task SendAsync(MachineReads reads, BootReadReport report)
    {
        try
        {
            await _grains.GetGrain<IMachineGrain>(reads.Mac).ReportReadsAsync(report);
        }
        catch (TimeoutException ex)
        {
            // The grain may have taken it and only the answer be late: counting it twice would be worse than losing it.
            LogReportTimedOut(_logger, reads.Mac, ex);
        }
        catch (Exception ex)
        {
            reads.Restore(report);
            LogReportFailed(_logger, reads.Mac, ex);
        }
    }

    [LoggerMessage(EventId = 3030, Level = LogLevel.Debug, Message = "Boot progress of {Mac} not reported; it goes with the next report")]
    private static partial void LogReportFailed(ILogger logger, string mac, Exception exception);

    [LoggerMessage(EventId = 3031, Level = LogLevel.Warning, Message = "Boot progress report of {Mac} timed out; its reads may be missing from the machine's progress")]
    private static partial void LogReportTimedOut(ILogger logger, string mac, Exception exception);
}
