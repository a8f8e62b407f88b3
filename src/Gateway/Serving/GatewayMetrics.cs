using System.Diagnostics.Metrics;
using IsoCluster.Gateway.Caching;

namespace IsoCluster.Gateway.Serving;

/// <summary>What the gateway measures, exported through <see cref="System.Diagnostics.Metrics"/>.</summary>
internal sealed class GatewayMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "IsoCluster.Gateway";

    private static readonly object BoxedOk = StatusCodes.Status200OK;
    private static readonly object BoxedPartialContent = StatusCodes.Status206PartialContent;
    private static readonly object BoxedNotModified = StatusCodes.Status304NotModified;
    private static readonly object BoxedServiceUnavailable = StatusCodes.Status503ServiceUnavailable;
    private static readonly KeyValuePair<string, object?> HitTag = new("isocluster.cache.result", "hit");
    private static readonly KeyValuePair<string, object?> MissTag = new("isocluster.cache.result", "miss");
    private static readonly KeyValuePair<string, object?> CoalescedTag = new("isocluster.cache.result", "coalesced");

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _served;
    private readonly Counter<long> _nearCacheReads;
    private readonly Counter<long> _planCacheReads;
    private readonly Counter<long> _clusterRetries;
    private readonly Counter<long> _clusterFailures;
    private readonly Counter<long> _rejected;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _nearCacheReads = meter.CreateCounter<long>(
            "isocluster.gateway.cache.reads",
            "{read}",
            "Chunk reads from the gateway's cache: hit, miss (this read fetched it) or coalesced (waited on another read's fetch).");
        _planCacheReads = meter.CreateCounter<long>(
            "isocluster.gateway.plan_cache.reads",
            "{read}",
            "Boot plans served from the gateway's plan cache (hit) or asked of the machine's grain (miss).");
        _requests = meter.CreateCounter<long>("isocluster.gateway.requests", "{request}", "ISO requests answered, by status code.");
        _served = meter.CreateCounter<long>("isocluster.gateway.served", "By", "ISO bytes written to BMCs (response bodies, patched).");
        _clusterRetries = meter.CreateCounter<long>(
            "isocluster.gateway.cluster_retries",
            "{retry}",
            "Grain reads tried again after a silo or connection was lost or an attempt timed out, by read and exception type.");
        _clusterFailures = meter.CreateCounter<long>(
            "isocluster.gateway.cluster_failures",
            "{read}",
            "Grain reads that ran out of attempts or time, by read and whether the last attempt timed out.");
        _rejected = meter.CreateCounter<long>(
            "isocluster.gateway.requests_rejected",
            "{request}",
            "ISO requests turned away with 503 because --max-concurrent-requests were already in flight.");
    }

    public void RequestServed(int statusCode)
    {
        // Boxing the status code would allocate on every request, so the usual ones are boxed once.
        var boxed = statusCode switch
        {
            StatusCodes.Status200OK => BoxedOk,
            StatusCodes.Status206PartialContent => BoxedPartialContent,
            StatusCodes.Status304NotModified => BoxedNotModified,

            // Overload answers many requests with 503 at once: no garbage then either.
            StatusCodes.Status503ServiceUnavailable => BoxedServiceUnavailable,
            _ => statusCode,
        };
        _requests.Add(1, new KeyValuePair<string, object?>("http.response.status_code", boxed));
    }

    /// <summary>A request turned away by <see cref="RequestAdmission"/>; its 503 is counted by <see cref="RequestServed"/> too.</summary>
    public void RequestRejected() => _rejected.Add(1);

    public void ObserveInFlight(RequestAdmission admission) =>
        _meter.CreateObservableGauge("isocluster.gateway.requests_in_flight", () => admission.InFlight, "{request}", "ISO requests being served now.");

    // No tags, so nothing to allocate: called once per chunk piece written.
    public void BytesServed(long bytes) => _served.Add(bytes);

    public void NearCacheHit() => _nearCacheReads.Add(1, HitTag);

    public void NearCacheMiss() => _nearCacheReads.Add(1, MissTag);

    public void NearCacheCoalesced() => _nearCacheReads.Add(1, CoalescedTag);

    public void PlanCacheHit() => _planCacheReads.Add(1, HitTag);

    public void PlanCacheMiss() => _planCacheReads.Add(1, MissTag);

    public void ObserveNearCache(ChunkNearCache cache)
    {
        _meter.CreateObservableGauge("isocluster.gateway.cache.bytes", () => cache.UsedBytes, "By", "Bytes of chunks cached in this gateway.");
        _meter.CreateObservableGauge("isocluster.gateway.cache.chunks", () => cache.Count, "{chunk}", "Chunks cached in (or being fetched by) this gateway.");
    }

    public void ClusterCallRetried(ClusterCallKind kind, string exceptionType) =>
        _clusterRetries.Add(
            1,
            new KeyValuePair<string, object?>("isocluster.read", ReadName(kind)),
            new KeyValuePair<string, object?>("error.type", exceptionType));

    public void ClusterCallFailed(ClusterCallKind kind, bool timedOut) =>
        _clusterFailures.Add(
            1,
            new KeyValuePair<string, object?>("isocluster.read", ReadName(kind)),
            new KeyValuePair<string, object?>("error.type", timedOut ? "timeout" : "unavailable"));

    // Fixed strings: a tag value per call would allocate, and enum boxing would too.
    private static string ReadName(ClusterCallKind kind) => kind == ClusterCallKind.BootPlan ? "boot_plan" : "chunk_read";
}
