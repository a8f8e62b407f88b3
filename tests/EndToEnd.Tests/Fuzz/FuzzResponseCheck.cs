using System.Globalization;
using System.Text;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Fuzz;

/// <summary>
/// What every answer to a fuzzed request must satisfy, whatever the request: no 5xx (DESIGN invariant 7), HTTP/1.1
/// framing that holds (Content-Length equals the body), range answers consistent with their body (RFC 9110 §14.4,
/// §15.3.7, §15.5.17) and carrying exactly the machine's bytes (invariant 1), and error reasons that are one line and
/// say nothing about the server.
/// </summary>
public static class FuzzResponseCheck
{
    private const string IsoContentType = "application/x-iso9660-image";

    /// <summary>The first problem with the response, or null.</summary>
    public static string? Problem(FuzzRequest request, int status, IReadOnlyList<KeyValuePair<string, string>> headers, byte[] body, FuzzGatewayFixture target)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(target);
        string? Header(string name) => headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

        if (status >= 500 && !(status == 505 && request.OddVersion))
        {
            return $"{status} from the server: {Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 300)))}";
        }

        if (Header("X-Injected") is not null)
        {
            return "a request smuggled a response header";
        }

        var contentType = Header("Content-Type") ?? "";
        var isIso = contentType.StartsWith(IsoContentType, StringComparison.OrdinalIgnoreCase)
            || contentType.StartsWith("multipart/byteranges", StringComparison.OrdinalIgnoreCase)
            || status == 304;

        // Chunked framing is valid HTTP/1.1 (the health endpoints use it), but HTTPFS clients read exactly Content-Length
        // bytes of an ISO.
        var chunked = Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;
        var contentLength = Header("Content-Length") is { } lengthText && long.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : (long?)null;
        var bodyExpected = !request.IsHead && status is not (204 or 304);
        if (chunked ? isIso : bodyExpected && contentLength != body.Length)
        {
            return $"Content-Length {contentLength?.ToString(CultureInfo.InvariantCulture) ?? "missing"} (chunked: {chunked}) with a {body.Length}-byte body";
        }
        if (isIso && status is 200 or 206 or 304)
        {
            if (request.Machine is not { } machine)
            {
                return $"{status} with an ISO for a request that names no machine";
            }

            if (Header("ETag") is null || (status != 304 && Header("Accept-Ranges") != "bytes"))
            {
                return $"{status} without ETag or Accept-Ranges: bytes";
            }

            var reference = target.Reference(machine);
            return status switch
            {
                200 => Whole(request, contentLength, body, reference),
                206 when contentType.StartsWith("multipart/byteranges", StringComparison.OrdinalIgnoreCase) => Multipart(request, contentType, body, reference),
                206 => Single(request, Header("Content-Range"), contentLength, body, reference),
                _ => body.Length == 0 ? null : "304 with a body",
            };
        }

        if (status == 206)
        {
            return $"206 with Content-Type '{contentType}'";
        }

        if (status == 416 && Header("Content-Range") != $"bytes */{target.Length}")
        {
            return $"416 with Content-Range '{Header("Content-Range")}' instead of 'bytes */{target.Length}'";
        }

        if (status >= 400 && contentType.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase) && body.Length > 0)
        {
            var reason = Encoding.UTF8.GetString(body);
            if (!reason.EndsWith('\n') || reason.IndexOf('\n', StringComparison.Ordinal) != reason.Length - 1 || reason.Contains('\r', StringComparison.Ordinal))
            {
                return $"a reason of more than one line: '{reason}'";
            }

            if (reason.Contains(target.ServerDirectory, StringComparison.Ordinal)
                || reason.Contains("Exception", StringComparison.Ordinal)
                || reason.Contains("   at ", StringComparison.Ordinal))
            {
                return $"a reason that tells about the server: '{reason}'";
            }
        }

        return null;
    }

    private static string? Whole(FuzzRequest request, long? contentLength, byte[] body, byte[] reference)
    {
        if (contentLength != reference.Length)
        {
            return $"200 with Content-Length {contentLength} for a {reference.Length}-byte ISO";
        }

        return request.IsHead || body.AsSpan().SequenceEqual(reference) ? null : $"200 body differs from the reference at byte {ReferencePatch.FirstDifference(body, reference)}";
    }

    private static string? Single(FuzzRequest request, string? contentRange, long? contentLength, byte[] body, byte[] reference)
    {
        if (ParseContentRange(contentRange, reference.Length) is not var (first, last))
        {
            return $"206 with Content-Range '{contentRange}'";
        }

        if (contentLength != last - first + 1)
        {
            return $"206 for {contentRange} with Content-Length {contentLength}";
        }

        return request.IsHead || body.AsSpan().SequenceEqual(reference.AsSpan((int)first, (int)(last - first + 1)))
            ? null
            : $"206 {contentRange}: body differs from the reference";
    }

    // RFC 9110 §14.6: each part is a boundary line, Content-Type, Content-Range, a blank line and the bytes.
    private static string? Multipart(FuzzRequest request, string contentType, byte[] body, byte[] reference)
    {
        if (request.IsHead)
        {
            return null;
        }

        var boundary = contentType.Split(';').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("boundary=", StringComparison.OrdinalIgnoreCase))?["boundary=".Length..].Trim('"');
        if (string.IsNullOrEmpty(boundary))
        {
            return $"multipart without a boundary: '{contentType}'";
        }

        var delimiter = Encoding.ASCII.GetBytes("\r\n--" + boundary);
        var span = body.AsSpan();
        var position = span.StartsWith(delimiter.AsSpan(2)) ? delimiter.Length - 2 : span.StartsWith(delimiter) ? delimiter.Length : -1;
        var parts = 0;
        var previousLast = -2L;
        while (position >= 0)
        {
            if (span[position..].StartsWith("--\r\n"u8) && position + 4 == span.Length)
            {
                return parts >= 2 ? null : $"multipart with {parts} part(s)";
            }

            var headerEnd = span[position..].IndexOf("\r\n\r\n"u8);
            if (!span[position..].StartsWith("\r\n"u8) || headerEnd < 0)
            {
                return $"multipart part {parts} has no header block";
            }

            var partHeaders = Encoding.ASCII.GetString(span.Slice(position + 2, headerEnd - 2)).Split("\r\n");
            var range = partHeaders.FirstOrDefault(h => h.StartsWith("Content-Range:", StringComparison.OrdinalIgnoreCase))?["Content-Range:".Length..].Trim();
            if (ParseContentRange(range, reference.Length) is not var (first, last) || first <= previousLast + 1)
            {
                return $"multipart part {parts}: Content-Range '{range}' (after {previousLast})";
            }

            var dataStart = position + headerEnd + 4;
            var length = (int)(last - first + 1);
            if (dataStart + length > span.Length || !span.Slice(dataStart, length).SequenceEqual(reference.AsSpan((int)first, length)))
            {
                return $"multipart part {parts} ({range}): bytes differ from the reference or run past the body";
            }

            position = span[(dataStart + length)..].StartsWith(delimiter) ? dataStart + length + delimiter.Length : -1;
            previousLast = last;
            parts++;
        }

        return $"multipart body does not end with the closing boundary after {parts} part(s)";
    }

    // "bytes first-last/complete" with first <= last < complete (RFC 9110 §14.4).
    private static (long First, long Last)? ParseContentRange(string? value, long complete)
    {
        if (value is null || !value.StartsWith("bytes ", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = value["bytes ".Length..].Split('-', '/');
        return parts.Length == 3
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            && parts[2] == complete.ToString(CultureInfo.InvariantCulture)
            && first <= last
            && last < complete
                ? (first, last)
                : null;
    }
}
