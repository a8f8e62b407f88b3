namespace IsoCluster.Grains.Upstream;

/// <summary>How silos talk to upstream ISO servers (configuration section <c>Upstream</c>).</summary>
public sealed class UpstreamOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Upstream";

    /// <summary>
    /// The longest one upstream exchange (all redirect hops and the body of one chunk) may take. Default: 30 s.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many redirects are followed before the upstream is reported broken. Default: 10.</summary>
    public int MaxRedirects { get; set; } = 10;

    /// <summary>Concurrent connections per upstream server from one silo. Default: 32.</summary>
    public int MaxConnectionsPerServer { get; set; } = 32;
}
