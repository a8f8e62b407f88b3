using System.Globalization;
using System.Net;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// What an upstream's answer to a chunk request means, decided from its headers before any body byte is used: the
/// window of the pinned version, a version change, or a failure (DESIGN invariant 3).
/// </summary>
/// <remarks>
/// The status comes first: an error page carries its own length and validators, which say nothing about the ISO, so a
/// 503 is an upstream failure, never a version change. Only 412 (the conditional request failed), 416 for a range the
/// pinned version had (the file shrank), and a 200 or 206 whose validators differ from the pinned ones mean the ISO
/// changed. The validators are compared even though the request was conditional, because an upstream may ignore
/// <c>If-Match</c> and <c>If-Unmodified-Since</c>: each one the response carries (ETag, Last-Modified, total length)
/// must equal the pinned version's.
/// </remarks>
internal static class UpstreamResponseCheck
{
    /// <summary>
    /// Whether another attempt may be answered differently: a 5xx other than 501 (which says the upstream will never do
    /// it), 408 Request Timeout and 429 Too Many Requests (RFC 9110 §15.5.9, §15.6; RFC 6585 §4).
    /// </summary>
    public static bool IsTransient(HttpStatusCode status) => (int)status switch
    {
        501 => false,
        >= 500 and <= 599 => true,
        408 or 429 => true,
        _ => false,
    };

    /// <summary>
    /// Checks the answer to a request for bytes <paramref name="offset"/> to <paramref name="end"/> (inclusive) of
    /// <paramref name="version"/>. Null when its body is that window (206) or the whole ISO (200) of that very version;
    /// otherwise the failure, marked transient when a retry may succeed.
    /// </summary>
    public static UpstreamRead? CheckChunk(HttpResponseMessage response, IsoVersion version, long offset, long end)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(version);
        var status = response.StatusCode;
        var content = response.Content.Headers;
        switch (status)
        {
            case HttpStatusCode.PartialContent:
            {
                // Validators before the window: a file that grew or shrank answers with another complete length, or
                // with a shorter window, and either is a version change rather than a broken upstream.
                var range = content.ContentRange;
                if (Difference(response, range?.Length, version) is { } changed)
                {
                    return Changed(changed);
                }

                if (range is null || !string.Equals(range.Unit, "bytes", StringComparison.OrdinalIgnoreCase) || range.From != offset || range.To != end)
                {
                    return new(UpstreamStatus.BadResponse, $"asked for bytes {offset}-{end}, got Content-Range '{range}'");
                }

                return null;
            }

            case HttpStatusCode.OK:
                // The upstream ignored the range (RFC 9110 §14.2 allows it): the body is the whole ISO, checked by its length.
                return Difference(response, content.ContentLength, version) is { } whole ? Changed(whole) : null;

            case HttpStatusCode.PreconditionFailed:
                return Changed("upstream answered 412 to the pinned version's If-Match or If-Unmodified-Since: the ISO changed");

            case HttpStatusCode.RequestedRangeNotSatisfiable:
                // Every window asked for lies within the pinned length, so an upstream that cannot satisfy it holds a
                // shorter file, unless it says its length is still the pinned one, which makes no sense.
                var now = content.ContentRange?.Length;
                return now == version.Length
                    ? new(UpstreamStatus.BadResponse, $"upstream answered 416 for bytes {offset}-{end} of its {now}-byte ISO")
                    : Changed($"upstream answered 416 for bytes {offset}-{end}: the ISO is now {(now is long n ? n.ToString(CultureInfo.InvariantCulture) + " bytes" : "shorter")}, was {version.Length}");

            default:
                return new(UpstreamStatus.BadResponse, $"HTTP {(int)status} {response.ReasonPhrase} for bytes {offset}-{end}", IsTransient(status));
        }
    }

    /// <summary>
    /// How the representation a 200 or 206 carries differs from <paramref name="version"/>, or null when every validator
    /// both have agrees: ETag (as sent, so a weak and a strong tag differ), Last-Modified to the second (HTTP dates have
    /// no finer precision, RFC 9110 §5.6.7) and total length (<paramref name="length"/>).
    /// </summary>
    public static string? Difference(HttpResponseMessage response, long? length, IsoVersion version)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(version);
        if (length is long actual && actual != version.Length)
        {
            return $"length changed from {version.Length} to {actual}";
        }

        var etag = response.Headers.ETag?.ToString();
        if (version.ETag is { } pinnedTag && etag is not null && !string.Equals(etag, pinnedTag, StringComparison.Ordinal))
        {
            return $"ETag changed from {pinnedTag} to {etag}";
        }

        var lastModified = response.Content.Headers.LastModified;
        if (version.LastModified is { } pinnedDate && lastModified is { } date && date.ToUnixTimeSeconds() != pinnedDate.ToUnixTimeSeconds())
        {
            return $"Last-Modified changed from {pinnedDate.ToString("R", CultureInfo.InvariantCulture)} to {date.ToString("R", CultureInfo.InvariantCulture)}";
        }

        return null;
    }

    /// <summary>
    /// Whether a failed request should be tried again: the connection could not be made or broke, or the name did not
    /// resolve (a DNS blip). Not a TLS failure, a malformed response or a protocol error, which another attempt repeats,
    /// nor a connection refused by a check of our own (a connect callback's exception that is not a socket error).
    /// </summary>
    public static bool IsTransient(HttpRequestException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.HttpRequestError switch
        {
            HttpRequestError.ResponseEnded or HttpRequestError.NameResolutionError => true,
            HttpRequestError.ConnectionError or HttpRequestError.Unknown => exception.InnerException is null or IOException or System.Net.Sockets.SocketException or TimeoutException,
            _ => false,
        };
    }

    private static UpstreamRead Changed(string reason) => new(UpstreamStatus.VersionChanged, reason);
}
