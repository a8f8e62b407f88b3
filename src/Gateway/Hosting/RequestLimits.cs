using System.Globalization;
using Microsoft.Extensions.Configuration.Memory;

namespace IsoCluster.Gateway.Hosting;

/// <summary>
/// Kestrel's request limits, stated for BMC clients rather than left to Kestrel's general-purpose defaults. They are
/// the lowest-precedence configuration (<c>Kestrel:Limits:*</c>), so an operator can still change any of them.
/// </summary>
/// <remarks>
/// A BMC's request is a GET of <c>/iso/&lt;MAC&gt;/hook.iso</c> with a handful of short headers (Host, Range, User-Agent,
/// perhaps If-Range or Authorization); a load balancer adds a few more. Kestrel answers a request past a limit
/// itself, before any of the gateway's code runs: 414 for the request line, 431 for the headers, 408 for headers
/// that arrive too slowly.
/// </remarks>
internal static class RequestLimits
{
    private const string Section = "Kestrel:Limits";

    /// <summary>
    /// Longest request line: method, path, query and version. Kestrel's (and nginx's) 8 KiB holds a <c>?sourceISO=</c>
    /// presigned URL (1-2 KiB, a third more once escaped) several times over.
    /// </summary>
    public const int MaxRequestLineSize = 8 * 1024;

    /// <summary>All header lines together: half Kestrel's 32 KiB, still dozens of times what a BMC and a proxy send.</summary>
    public const int MaxRequestHeadersTotalSize = 16 * 1024;

    /// <summary>Header fields per request: a BMC sends under ten, a proxy adds a few; Kestrel's default is 100.</summary>
    public const int MaxRequestHeaderCount = 50;

    /// <summary>
    /// How long a client may take to send its headers: a BMC sends them in one packet, so a connection that trickles
    /// them (slowloris) is closed after 10 seconds instead of Kestrel's 30.
    /// </summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an idle connection stays open: Kestrel's 130 seconds, kept because a BMC's reads pause while the
    /// installer works and a kept connection saves a TCP (and TLS) handshake on the next read.
    /// </summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(130);

    /// <summary>
    /// Puts the limits beneath every other configuration source and binds <c>Kestrel:Limits</c> to Kestrel, which reads
    /// only endpoints and certificates from its configuration section by itself.
    /// </summary>
    public static void AddTo(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                [$"{Section}:MaxRequestLineSize"] = MaxRequestLineSize.ToString(CultureInfo.InvariantCulture),
                [$"{Section}:MaxRequestHeadersTotalSize"] = MaxRequestHeadersTotalSize.ToString(CultureInfo.InvariantCulture),
                [$"{Section}:MaxRequestHeaderCount"] = MaxRequestHeaderCount.ToString(CultureInfo.InvariantCulture),
                [$"{Section}:RequestHeadersTimeout"] = RequestHeadersTimeout.ToString("c", CultureInfo.InvariantCulture),
                [$"{Section}:KeepAliveTimeout"] = KeepAliveTimeout.ToString("c", CultureInfo.InvariantCulture),
            },
        });
        builder.WebHost.ConfigureKestrel((context, kestrel) => context.Configuration.GetSection(Section).Bind(kestrel.Limits));
    }
}
