using System.Diagnostics.Metrics;

namespace IsoCluster.Gateway.Serving;

/// <summary>What the gateway measures, exported through <see cref="System.Diagnostics.Metrics"/>.</summary>
internal sealed class GatewayMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "IsoCluster.Gateway";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _clusterRetries;
    private readonly Counter<long> _clusterFailures;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("isocluster.gateway.requests", "{request}", "ISO requests answered, by status code.");
        _clusterRetries = meter.CreateCounter<long>(
            "isocluster.gateway.cluster_retries",
            "{retry}",
            "Grain reads tried again after a silo or connection was lost or an attempt timed out, by read and exception type.");
        _clusterFailures = meter.CreateCounter<long>(
            "isocluster.gateway.cluster_failures",
            "{read}",
            "Grain reads that ran out of attempts or time, by read and whether the last attempt timed out.");
    }

    public void RequestServed(int statusCode) =>
        _requests.Add(1, new KeyValuePair<string, object?>("http.response.status_code", statusCode));

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
