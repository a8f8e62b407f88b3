using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Unicode;

namespace IsoCluster.Gateway.Ranges;

/// <summary>One part of a <c>multipart/byteranges</c> body: write <see cref="Header"/>, then the bytes of <see cref="Range"/>.</summary>
/// <param name="Header">The delimiter and part header fields, ending with the blank line, as ASCII.</param>
/// <param name="Range">The bytes of the representation that follow the header.</param>
internal readonly record struct MultipartPart(ReadOnlyMemory<byte> Header, ByteRange Range);

/// <summary>
/// The layout of a <c>multipart/byteranges</c> body (RFC 9110 §14.6, §15.3.7.2), fixed before the first byte is
/// written so the response carries an exact <c>Content-Length</c> and is never chunked.
/// </summary>
/// <remarks>
/// The body is, for each part in order, <see cref="MultipartPart.Header"/> then the part's bytes, and finally
/// <see cref="Trailer"/>. Following RFC 2046 §5.1.1 the CRLF before each delimiter belongs to the delimiter, so
/// the first header starts with <c>--boundary</c> (there is no preamble) and later ones with <c>\r\n--boundary</c>.
/// All headers and the trailer share one exactly sized array.
/// </remarks>
internal sealed class MultipartByteRanges
{
    // bchars (RFC 2046 §5.1.1) that are also tchars (RFC 9110 §5.6.2), so the parameter never needs quotes.
    private static readonly SearchValues<char> BoundaryChars =
        SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'+-._");

    private const int MaxBoundaryLength = 70;

    /// <summary>Lays out a body for <paramref name="ranges"/> of a representation.</summary>
    /// <param name="ranges">The ranges, each within <paramref name="completeLength"/>; usually two or more.</param>
    /// <param name="partContentType">
    /// The <c>Content-Type</c> a 200 response would carry, repeated in each part as §15.3.7.2 asks.
    /// </param>
    /// <param name="completeLength">The length of the whole representation, for each part's <c>Content-Range</c>.</param>
    /// <param name="boundary">
    /// The boundary, or null for a random one. RFC 2046 §5.1.1 requires that it not occur in the body, which 128
    /// random bits make a practical certainty; a fixed one is for tests.
    /// </param>
    /// <exception cref="ArgumentException">
    /// A range is empty or outside the representation, the content type is not printable ASCII, or the boundary
    /// is not 1–70 characters from the safe set.
    /// </exception>
    public MultipartByteRanges(
        IReadOnlyList<ByteRange> ranges, string partContentType, long completeLength, string? boundary = null)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(partContentType);
        if (ranges.Count == 0)
        {
            throw new ArgumentException("At least one range is needed.", nameof(ranges));
        }

        // The type is copied into the body verbatim; a CR or LF would inject header lines into a part.
        foreach (char c in partContentType)
        {
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException("The content type must be printable ASCII.", nameof(partContentType));
            }
        }

        boundary ??= RandomNumberGenerator.GetHexString(32, lowercase: true);
        if (boundary.Length is 0 or > MaxBoundaryLength || boundary.AsSpan().ContainsAnyExcept(BoundaryChars))
        {
            throw new ArgumentException("The boundary must be 1-70 characters of [0-9A-Za-z'+-._].", nameof(boundary));
        }

        int headersLength = 0;
        for (int i = 0; i < ranges.Count; i++)
        {
            ByteRange range = ranges[i];
            if (range.Length < 1 || range.Start < 0 || range.Start > completeLength - range.Length)
            {
                throw new ArgumentException("Every range must be non-empty and within the representation.", nameof(ranges));
            }

            headersLength += PartHeaderLength(range, completeLength, boundary.Length, partContentType.Length);
        }

        int trailerLength = "\r\n--".Length + boundary.Length + "--\r\n".Length;

        // The first part has no preceding CRLF, hence one CRLF less than the sum of the part headers.
        byte[] buffer = new byte[headersLength - "\r\n".Length + trailerLength];
        var parts = new MultipartPart[ranges.Count];
        long contentLength = buffer.Length;
        int offset = 0;
        for (int i = 0; i < ranges.Count; i++)
        {
            ByteRange range = ranges[i];
            int expected = PartHeaderLength(range, completeLength, boundary.Length, partContentType.Length)
                - (i == 0 ? "\r\n".Length : 0);
            if (!Utf8.TryWrite(
                    buffer.AsSpan(offset),
                    CultureInfo.InvariantCulture,
                    $"{(i == 0 ? "" : "\r\n")}--{boundary}\r\nContent-Type: {partContentType}\r\nContent-Range: bytes {range.Start}-{range.End}/{completeLength}\r\n\r\n",
                    out int written)
                || written != expected)
            {
                throw new InvalidOperationException("A multipart part header was miscounted.");
            }

            parts[i] = new MultipartPart(buffer.AsMemory(offset, written), range);
            offset += written;
            contentLength += range.Length;
        }

        if (!Utf8.TryWrite(buffer.AsSpan(offset), $"\r\n--{boundary}--\r\n", out int trailerWritten)
            || offset + trailerWritten != buffer.Length)
        {
            throw new InvalidOperationException("The multipart trailer was miscounted.");
        }

        Boundary = boundary;
        ContentType = "multipart/byteranges; boundary=" + boundary;
        Parts = parts;
        Trailer = buffer.AsMemory(offset);
        ContentLength = contentLength;
    }

    /// <summary>The boundary that separates the parts.</summary>
    public string Boundary { get; }

    /// <summary>The response's <c>Content-Type</c> value: <c>multipart/byteranges; boundary=…</c>.</summary>
    public string ContentType { get; }

    /// <summary>The parts, in the order of the ranges given to the constructor.</summary>
    public IReadOnlyList<MultipartPart> Parts { get; }

    /// <summary>The close delimiter written after the last part's bytes: <c>\r\n--boundary--\r\n</c>.</summary>
    public ReadOnlyMemory<byte> Trailer { get; }

    /// <summary>The exact length of the whole body: every header, every range and the trailer.</summary>
    public long ContentLength { get; }

    // Counted rather than measured by a trial write so the buffer is allocated once, at its final size.
    private static int PartHeaderLength(ByteRange range, long completeLength, int boundaryLength, int typeLength) =>
        "\r\n--".Length + boundaryLength + "\r\nContent-Type: ".Length + typeLength + "\r\nContent-Range: ".Length
        + range.ContentRangeLength(completeLength) + "\r\n\r\n".Length;
}
