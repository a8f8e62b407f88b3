using System.Collections.Concurrent;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace IsoCluster.Gateway.Caching;

/// <summary>
/// Each machine's boot plan as this gateway last had it from the machine's grain, so that a BMC's thousands of reads
/// do not each make a grain call. A plan is served for at most <see cref="GatewayOptions.BootPlanMaxAge"/>; past half
/// of that it is refreshed in the background while still served. The refresh is also what keeps the machine's version
/// pin alive for as long as it reads, and what brings a Hardware change to the next request within the maximum age.
/// </summary>
/// <remarks>
/// Only plans that can be served are kept. Any other answer (unknown MAC, upstream failure, ...) reaches every
/// request from the grain itself, as does any request once its plan is older than the maximum age.
/// </remarks>
internal sealed partial class BootPlanCache
{
    // Expired plans are never served, so a sweep now and then keeps the map to the machines reading lately.
    private const int SweepEveryMaxAges = 30;

    private static readonly Func<PlanRead, CancellationToken, ValueTask<BootPlanResult>> ReadPlan =
        static (read, cancellationToken) => read.Grain.GetBootPlanAsync(read.SourceIso, cancellationToken);

    private readonly ConcurrentDictionary<PlanKey, ServedPlan> _plans = new();
    private readonly IGrainFactory _grains;
    private readonly ClusterCallPolicy _calls;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<BootPlanCache> _logger;
    private readonly long _maxAge;
    private readonly long _refreshAge;
    private long _nextSweep;

    public BootPlanCache(IGrainFactory grains, ClusterCallPolicy calls, GatewayMetrics metrics, TimeProvider time, IOptions<GatewayOptions> options, ILogger<BootPlanCache> logger)
    {
        _grains = grains;
        _calls = calls;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _maxAge = (long)(options.Value.BootPlanMaxAge.TotalSeconds * time.TimestampFrequency);
        _refreshAge = _maxAge / 2;
        _nextSweep = time.GetTimestamp() + (_maxAge * SweepEveryMaxAges);
    }

    /// <summary>
    /// The machine's plan: the cached one while it is young enough, else the grain's answer (retried as every grain read
    /// is, until <paramref name="deadline"/>).
    /// </summary>
    public ValueTask<PlanLookup> GetAsync(MacAddress mac, string? sourceIso, long deadline, CancellationToken aborted)
    {
        var key = new PlanKey(mac, sourceIso);
        if (_plans.TryGetValue(key, out var served))
        {
            var age = _time.GetTimestamp() - served.FetchedAt;
            if (age < _maxAge)
            {
                if (age >= _refreshAge && served.TryStartRefresh())
                {
                    _ = RefreshAsync(key, served);
                }

                _metrics.PlanCacheHit();
                return new ValueTask<PlanLookup>(new PlanLookup(served, null));
            }
        }

        _metrics.PlanCacheMiss();
        return ReadAsync(key, served, deadline, aborted);
    }

    /// <summary>Drops a machine's plan, so its next request asks its grain (after the upstream changed under its boot).</summary>
    public void Forget(MacAddress mac, string? sourceIso) => _plans.TryRemove(new PlanKey(mac, sourceIso), out _);

    private async ValueTask<PlanLookup> ReadAsync(PlanKey key, ServedPlan? expired, long deadline, CancellationToken aborted)
    {
        var macText = expired?.Mac ?? key.Mac.ToString();
        var result = await _calls.CallAsync(
            ReadPlan,
            new PlanRead(_grains.GetGrain<IMachineGrain>(macText), key.SourceIso),
            ClusterCallKind.BootPlan,
            macText,
            "boot plan",
            deadline,
            aborted);
        return Store(key, macText, expired, result);
    }

    private async Task RefreshAsync(PlanKey key, ServedPlan current)
    {
        try
        {
            var result = await _calls.CallAsync(
                ReadPlan,
                new PlanRead(_grains.GetGrain<IMachineGrain>(current.Mac), key.SourceIso),
                ClusterCallKind.BootPlan,
                current.Mac,
                "boot plan",
                _calls.StartDeadline(),
                CancellationToken.None);
            Store(key, current.Mac, current, result);
        }
        catch (Exception ex)
        {
            // The plan in hand stays good until its maximum age; after that requests ask the grain themselves and see why.
            LogRefreshFailed(_logger, current.Mac, ex);
        }
        finally
        {
            current.EndRefresh();
        }
    }

    private PlanLookup Store(PlanKey key, string macText, ServedPlan? previous, BootPlanResult result)
    {
        var now = _time.GetTimestamp();
        if (result.Plan is not { } plan || result.Version is not { } version)
        {
            Remove(key, previous);
            return new PlanLookup(null, result);
        }

        // The same plan again (the usual answer): renew it, so its header strings are made once per boot, not per refresh.
        if (previous is not null && previous.Matches(plan, version))
        {
            previous.Renew(now);
            _plans[key] = previous;
            return new PlanLookup(previous, null);
        }

        var overlay = PatchOverlay.TryCreate(plan.KernelParams, version.MagicLength);
        if (overlay is null)
        {
            Remove(key, previous);
            return new PlanLookup(null, new BootPlanResult(
                BootPlanStatus.KernelParamsTooLong,
                plan,
                $"{macText}: kernel parameters are {plan.KernelParams.Length} bytes, longer than the {version.MagicLength}-byte magic string"));
        }

        var served = new ServedPlan(macText, plan, version, overlay, now);
        _plans[key] = served;
        SweepIfDue(now);
        return new PlanLookup(served, null);
    }

    private void Remove(PlanKey key, ServedPlan? previous)
    {
        if (previous is not null)
        {
            _plans.TryRemove(new KeyValuePair<PlanKey, ServedPlan>(key, previous));
        }
    }

    private void SweepIfDue(long now)
    {
        var due = Volatile.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + (_maxAge * SweepEveryMaxAges), due) != due)
        {
            return;
        }

        foreach (var (key, served) in _plans)
        {
            if (now - served.FetchedAt >= _maxAge)
            {
                _plans.TryRemove(new KeyValuePair<PlanKey, ServedPlan>(key, served));
            }
        }
    }

    [LoggerMessage(EventId = 3020, Level = LogLevel.Debug, Message = "Background refresh of the boot plan of {Mac} failed; the plan in hand serves until its maximum age")]
    private static partial void LogRefreshFailed(ILogger logger, string mac, Exception exception);

    private readonly record struct PlanKey(MacAddress Mac, string? SourceIso);

    private readonly record struct PlanRead(IMachineGrain Grain, string? SourceIso);
}

/// <summary>A plan ready to serve, or why there is none.</summary>
/// <param name="Plan">The plan, when the machine can boot.</param>
/// <param name="Refused">The grain's answer otherwise.</param>
internal readonly record struct PlanLookup(ServedPlan? Plan, BootPlanResult? Refused);

/// <summary>
/// A machine's boot plan with what every response of its boot repeats, made once: the padded patch, the ETag and the
/// Last-Modified text.
/// </summary>
internal sealed class ServedPlan
{
    private long _fetchedAt;
    private int _refreshing;

    public ServedPlan(string mac, BootPlan plan, IsoVersion version, PatchOverlay overlay, long fetchedAt)
    {
        Mac = mac;
        Plan = plan;
        Version = version;
        Overlay = overlay;
        ETag = $"\"{version.Id}-{plan.PatchTag}\"";
        LastModified = version.LastModified is { } lastModified ? HeaderUtilities.FormatDate(lastModified) : null;
        _fetchedAt = fetchedAt;
    }

    /// <summary>The MAC as the grain and the logs name it.</summary>
    public string Mac { get; }

    public BootPlan Plan { get; }

    /// <summary>The source ISO version this boot is pinned to.</summary>
    public IsoVersion Version { get; }

    public PatchOverlay Overlay { get; }

    /// <summary>The strong, per-machine and per-version ETag.</summary>
    public string ETag { get; }

    /// <summary>The upstream's Last-Modified as an HTTP-date, when it gave one.</summary>
    public string? LastModified { get; }

    /// <summary>When the grain last gave this plan (a <see cref="TimeProvider"/> timestamp).</summary>
    public long FetchedAt => Volatile.Read(ref _fetchedAt);

    public bool Matches(BootPlan plan, IsoVersion version) =>
        version.Id == Version.Id && plan.PatchTag == Plan.PatchTag && plan.Source == Plan.Source && plan.KernelParams.AsSpan().SequenceEqual(Plan.KernelParams);

    public void Renew(long now) => Volatile.Write(ref _fetchedAt, now);

    public bool TryStartRefresh() => Interlocked.Exchange(ref _refreshing, 1) == 0;

    public void EndRefresh() => Volatile.Write(ref _refreshing, 0);
}
