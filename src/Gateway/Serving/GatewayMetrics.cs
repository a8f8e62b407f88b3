using System.Diagnostics.Metrics;

namespace IsoCluster.Gateway.Serving;

/// <summary>What the gateway measures, exported through <see cref="System.Diagnostics.Metrics"/>.</summary>
internal sealed class GatewayMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "IsoCluster.Gateway";

    private readonly Counter<long> _requests;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("isocluster.gateway.requests", "{request}", "ISO requests answered, by status code.");
    }

    public void RequestServed(int statusCode) =>
        _requests.Add(1, new KeyValuePair<string, object?>("http.response.status_code", statusCode));
}
