namespace IsoCluster.EndToEnd.Tests.Harness;

/// <summary>One <c>Range</c> header to send and the bytes (RFC 9110 §14.1.2) it must select.</summary>
/// <param name="Header">The field value, e.g. <c>bytes=0-65535</c>.</param>
/// <param name="Start">The first selected byte.</param>
/// <param name="Length">How many bytes are selected, after clamping a last-pos past the end.</param>
public readonly record struct RangeProbe(string Header, long Start, long Length)
{
    /// <summary><c>bytes=first-last</c>; a last-pos at or past the end is clamped to the last byte (§14.1.2).</summary>
    public static RangeProbe Closed(long first, long last, long total) =>
        new($"bytes={first}-{last}", first, Math.Min(last, total - 1) - first + 1);

    /// <summary><c>bytes=first-</c>: from <paramref name="first"/> to the end.</summary>
    public static RangeProbe Open(long first, long total) => new($"bytes={first}-", first, total - first);

    /// <summary><c>bytes=-n</c>: the last <paramref name="n"/> bytes, or all of them when the image is shorter.</summary>
    public static RangeProbe Suffix(long n, long total) => new($"bytes=-{n}", Math.Max(0, total - n), Math.Min(n, total));

    /// <summary>The <c>Content-Range</c> a 206 for this probe must carry (§14.4).</summary>
    public string ContentRange(long total) => $"bytes {Start}-{Start + Length - 1}/{total}";

    /// <inheritdoc />
    public override string ToString() => Header;
}
