using System.Buffers;
using System.Globalization;
using System.Text;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// Why an ISO request cannot be served, and the one place where each reason becomes an HTTP status
/// (DESIGN invariant 7: bad input is a 4xx with a reason; upstream trouble is 502/503/504).
/// </summary>
/// <remarks>
/// <see cref="Reason"/> goes to the client and says nothing about the server: no file path, no exception message, no
/// internal address. Words from a grain or an upstream that may hold those (a Hardware file's path, a local upstream's
/// path, a socket error) travel in <see cref="Detail"/>, which only the gateway's log line shows.
/// </remarks>
/// <param name="StatusCode">The HTTP status.</param>
/// <param name="Reason">The one-line reason sent to the client.</param>
internal readonly record struct IsoFailure(int StatusCode, string Reason)
{
    // A reason echoes at most this much of what the client sent, so a long path or URL is not mirrored back whole.
    private const int MaxEchoed = 120;

    // Whatever a reason quotes (a client's sourceISO= URL, Hardware fields), the body stays a line, not a page.
    private const int MaxReason = 1000;

    // RFC 9110 §10.2.3: delay-seconds. A second for overload (the next BMC read usually finds room); two for the
    // cluster or Hardware source, which take a moment to recover.
    private const string RetrySoon = "1";
    private const string RetryLater = "2";

    private static readonly SearchValues<char> LineBreaking = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(c => (char)c), .. Enumerable.Range(0x7f, 0x21).Select(c => (char)c), '\u2028', '\u2029']);

    /// <summary>What the log line says instead of <see cref="Reason"/>: the grain's or upstream's own words.</summary>
    public string? Detail { get; init; }

    /// <summary>The <c>Retry-After</c> value (seconds) to send with the status, or null for none.</summary>
    public string? RetryAfter { get; init; }

    public bool IsServerSide => StatusCode >= 500;

    /// <summary>The text for the log line: the detail when there is one.</summary>
    public string LogText => Detail ?? Reason;

    public static IsoFailure MethodNotAllowed(string method) =>
        new(StatusCodes.Status405MethodNotAllowed, $"{Echo(method)} is not allowed; use GET or HEAD");

    public static IsoFailure NotAnIsoPath() =>
        new(StatusCodes.Status404NotFound, "not an ISO path: use /iso/<MAC>/<name>.iso");

    public static IsoFailure NotAnIso(ReadOnlySpan<char> file) =>
        new(StatusCodes.Status404NotFound, $"'{Echo(file)}' is not an ISO: the path must end in .iso");

    /// <summary>A MAC that does not parse; <paramref name="reason"/> quotes a bounded prefix of it.</summary>
    public static IsoFailure BadMac(string reason) => new(StatusCodes.Status400BadRequest, OneLine(reason));

    public static IsoFailure PreconditionFailed() =>
        new(StatusCodes.Status412PreconditionFailed, "a precondition (If-Match or If-Unmodified-Since) failed");

    public static IsoFailure RangeNotSatisfiable(long length) =>
        new(StatusCodes.Status416RangeNotSatisfiable, string.Create(CultureInfo.InvariantCulture, $"no requested range is within the {length}-byte ISO"));

    /// <summary>
    /// More ISO requests in flight than <c>--max-concurrent-requests</c>: an immediate 503 rather than a queue, so a
    /// pile-up costs a short answer instead of memory, and the BMC's retry lands when there is room.
    /// </summary>
    public static IsoFailure Overloaded(int limit) => new(
        StatusCodes.Status503ServiceUnavailable,
        string.Create(CultureInfo.InvariantCulture, $"the gateway is busy: {limit} requests are in flight, the most it takes (--max-concurrent-requests); retry shortly"))
    {
        RetryAfter = RetrySoon,
    };

    /// <summary>A machine whose boot plan could not be made.</summary>
    /// <param name="status">Why.</param>
    /// <param name="detail">The machine grain's reason, for the log.</param>
    /// <param name="mac">The machine, as the client may see it.</param>
    public static IsoFailure From(BootPlanStatus status, string? detail, string mac) => status switch
    {
        // The grain's reason names the Hardware file or the Kubernetes namespace searched: the server's business.
        BootPlanStatus.HardwareNotFound => new(StatusCodes.Status404NotFound, $"no Hardware for this MAC ({mac})") { Detail = detail },
        BootPlanStatus.HardwareUnavailable => new(
            StatusCodes.Status503ServiceUnavailable,
            "Hardware cannot be looked up: no Hardware source is set (--hardware-file, or --hardware-source kubernetes) or it is not loaded yet")
        {
            Detail = detail,
            RetryAfter = RetryLater,
        },

        // The grain's reason may quote an operator's local source path and the error opening it.
        BootPlanStatus.NoSourceIso => new(
            StatusCodes.Status400BadRequest,
            $"no usable source ISO for {mac}: set its Hardware's spec.interfaces[].isoboot.sourceISO or --iso-upstream-url")
        {
            Detail = detail,
        },

        // These reasons are built from the Hardware object, the settings and the client's own ?sourceISO= alone: field
        // names, lengths, the shortened URL; they tell the operator at the BMC what to fix.
        BootPlanStatus.SourceNotAllowed => new(StatusCodes.Status403Forbidden, OneLine(detail ?? "the sourceISO is not allowed")),
        BootPlanStatus.InvalidKernelParams or BootPlanStatus.KernelParamsTooLong =>
            new(StatusCodes.Status500InternalServerError, OneLine(detail ?? "the kernel parameters cannot be written over the magic string")),
        _ => new(StatusCodes.Status500InternalServerError, $"no boot plan for {mac} ({status})") { Detail = detail },
    };

    /// <summary>An upstream that failed a version probe or a chunk read.</summary>
    /// <param name="status">How it failed.</param>
    /// <param name="detail">
    /// The upstream client's reason, for the log only: for a local file it starts with the path, and a broken connection
    /// carries the socket's exception message.
    /// </param>
    public static IsoFailure From(UpstreamStatus status, string? detail) => status switch
    {
        // The client chose the URL, so an address it may not reach is its request refused, not upstream trouble. The
        // guard's reason names the host and the kind of address, which the client already knows, not the address.
        UpstreamStatus.AddressRefused => new(StatusCodes.Status403Forbidden, OneLine($"sourceISO is not allowed: {detail}")) { Detail = detail },
        UpstreamStatus.TimedOut => new(StatusCodes.Status504GatewayTimeout, "upstream: the ISO server did not answer in time") { Detail = detail },
        UpstreamStatus.Unreachable => new(StatusCodes.Status502BadGateway, "upstream: the ISO server could not be reached or the connection broke") { Detail = detail },
        UpstreamStatus.RedirectRejected => new(
            StatusCodes.Status502BadGateway,
            "upstream: a redirect pointed outside --iso-source-allow, to a scheme other than http(s), or past the most redirects followed")
        {
            Detail = detail,
        },
        UpstreamStatus.VersionChanged => new(
            StatusCodes.Status503ServiceUnavailable,
            "the upstream ISO changed during this boot; retry and the boot restarts on the new version")
        {
            Detail = detail,
            RetryAfter = RetryLater,
        },

        // The silo's own fetch cap toward this server, not the server: the cluster is busy, and a retry soon finds room.
        UpstreamStatus.Busy => new(StatusCodes.Status503ServiceUnavailable, "upstream busy: every fetch this cluster makes from the ISO server is taken; retry shortly")
        {
            Detail = detail,
            RetryAfter = RetrySoon,
        },
        _ => new(StatusCodes.Status502BadGateway, "upstream: the ISO server answered with an error or a response that does not fit the request") { Detail = detail },
    };

    /// <summary>
    /// A grain read that ran out of retries or time (DESIGN invariant 8): 504 when the last attempt timed out, 503 when
    /// the cluster was unavailable (a silo or connection lost).
    /// </summary>
    public static IsoFailure From(ClusterCallException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var what = failure.Kind == ClusterCallKind.BootPlan ? "boot plan or ISO version" : "chunk read";
        return failure.TimedOut
            ? ClusterTimeout($"{what}, {failure.Attempts} attempt(s)")
            : ClusterUnavailable($"{what}: {failure.InnerException?.GetType().Name}, {failure.Attempts} attempt(s)");
    }

    public static IsoFailure ClusterTimeout(string what) =>
        new(StatusCodes.Status504GatewayTimeout, $"the cluster did not answer in time ({what})");

    public static IsoFailure ClusterUnavailable(string what) =>
        new(StatusCodes.Status503ServiceUnavailable, $"the cluster is unavailable ({what})") { RetryAfter = RetryLater };

    /// <summary>
    /// <paramref name="failure"/> after the response's headers went out: the client saw a 206 or 200 end short of its
    /// length, which a machine's boot progress records as a 502.
    /// </summary>
    public static IsoFailure CutShort(IsoFailure failure) =>
        new(StatusCodes.Status502BadGateway, "response cut short: " + failure.Reason) { Detail = failure.Detail };

    /// <summary>The response body: the reason and a newline, UTF-8.</summary>
    public byte[] ToBody() =>
        Encoding.UTF8.GetBytes(Reason.Length <= MaxReason ? Reason + "\n" : string.Concat(Reason.AsSpan(0, MaxReason), "…\n"));

    // Text the client sent (a path segment, a method, a URL) comes back shortened: enough to recognise, not a mirror.
    private static string Echo(ReadOnlySpan<char> text) =>
        OneLine(text.Length <= MaxEchoed ? text.ToString() : string.Concat(text[..MaxEchoed], "…"));

    // A decoded path or query may hold CR, LF or other controls (%0A, %C2%85); the body is promised to be one line.
    private static string OneLine(string text)
    {
        if (!text.AsSpan().ContainsAny(LineBreaking))
        {
            return text;
        }

        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = LineBreaking.Contains(source[i]) ? '?' : source[i];
            }
        });
    }

}
