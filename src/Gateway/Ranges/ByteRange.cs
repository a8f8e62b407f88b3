using System.Globalization;
using System.Text.Unicode;

namespace IsoCluster.Gateway.Ranges;

/// <summary>A non-empty run of bytes of a representation: <see cref="Length"/> bytes from <see cref="Start"/>.</summary>
/// <param name="Start">The zero-based offset of the first byte.</param>
/// <param name="Length">How many bytes; at least one.</param>
internal readonly record struct ByteRange(long Start, long Length)
{
    /// <summary>The offset of the last byte (inclusive), as written in a <c>Content-Range</c> (RFC 9110 §14.4).</summary>
    public long End => Start + Length - 1;

    /// <summary>The <c>Content-Range</c> value of a 416 response: <c>bytes */length</c> (RFC 9110 §14.4, §15.5.17).</summary>
    /// <param name="completeLength">The length of the whole representation.</param>
    /// <returns>The header value.</returns>
    public static string UnsatisfiedContentRange(long completeLength) =>
        string.Create(CultureInfo.InvariantCulture, $"bytes */{completeLength}");

    /// <summary>The <c>Content-Range</c> value for this range: <c>bytes first-last/length</c> (RFC 9110 §14.4).</summary>
    /// <param name="completeLength">The length of the whole representation.</param>
    /// <returns>The header value.</returns>
    public string ToContentRange(long completeLength) =>
        string.Create(CultureInfo.InvariantCulture, $"bytes {Start}-{End}/{completeLength}");

    /// <summary>Writes <see cref="ToContentRange"/> as ASCII, without allocating.</summary>
    /// <param name="destination">Where to write.</param>
    /// <param name="completeLength">The length of the whole representation.</param>
    /// <param name="written">How many bytes were written.</param>
    /// <returns>False when <paramref name="destination"/> is too short.</returns>
    public bool TryFormatContentRange(Span<byte> destination, long completeLength, out int written) =>
        Utf8.TryWrite(destination, CultureInfo.InvariantCulture, $"bytes {Start}-{End}/{completeLength}", out written);

    /// <summary>How many bytes <see cref="TryFormatContentRange"/> writes.</summary>
    /// <param name="completeLength">The length of the whole representation.</param>
    /// <returns>The length of the header value.</returns>
    public int ContentRangeLength(long completeLength) =>
        "bytes -/".Length + CountDigits(Start) + CountDigits(End) + CountDigits(completeLength);

    private static int CountDigits(long value)
    {
        int digits = 1;
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }

        return digits;
    }
}
