using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Serving;

/// <summary>How the gateway serves ISOs (configuration section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Gateway";

    /// <summary>
    /// <c>embedded</c> hosts a silo in the gateway process (one command runs everything); <c>client</c> joins an
    /// external cluster as an Orleans client. Default: embedded.
    /// </summary>
    public GatewayMode Mode { get; set; } = GatewayMode.Embedded;

    /// <summary>
    /// The most ranges one request may ask for; a request with more gets the whole ISO (200), which RFC 9110
    /// §14.2 allows. Default: 16.
    /// </summary>
    public int MaxRanges { get; set; } = 16;

    /// <summary>
    /// The most <c>/iso/</c> requests this gateway serves at once (<c>--max-concurrent-requests</c>); one more gets an
    /// immediate 503 with <c>Retry-After</c>, never a queue. A BMC keeps one read outstanding, so this is roughly how
    /// many booting machines one gateway carries; it bounds the memory of responses in flight (each holds at most
    /// Kestrel's write buffer, 320 KiB, usually one 64 KiB read). Health endpoints are not counted. Default: 2048.
    /// </summary>
    public int MaxConcurrentRequests { get; set; } = 2048;

    /// <summary>
    /// Bytes of whole chunks this gateway keeps (<c>--gateway-cache-size</c>), least recently read dropped first; 0 keeps
    /// none (concurrent reads of a chunk still share one fetch). Default: 256 MiB.
    /// </summary>
    public ByteSize CacheSize { get; set; } = ByteSize.FromMebibytes(256);

    /// <summary>
    /// The most chunk reads this gateway has in flight to the cluster at once (<c>--gateway-max-chunk-fetches</c>); more
    /// wait for one to finish, within the read's deadline. Each is a whole chunk crossing from a silo, held in the
    /// network buffers of both processes until it has arrived, so this bounds their memory when many BMCs miss the
    /// cache at once; a few reads in flight already keep the silos' answers flowing. Default: 16.
    /// </summary>
    public int MaxChunkFetches { get; set; } = 16;

    /// <summary>
    /// How long a machine's boot plan is served without asking its grain again (<c>--gateway-plan-max-age</c>); past
    /// half of it the plan is refreshed in the background. Bounds how late a Hardware change reaches new requests.
    /// Default: 1 second.
    /// </summary>
    public TimeSpan BootPlanMaxAge { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Whether the gateway process hosts a silo.</summary>
public enum GatewayMode
{
    /// <summary>A silo runs inside the gateway process with localhost clustering.</summary>
    Embedded = 0,

    /// <summary>The gateway is a pure Orleans client of an external cluster.</summary>
    Client = 1,
}
