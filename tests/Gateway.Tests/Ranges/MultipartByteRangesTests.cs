using System.Text;
using IsoCluster.Gateway.Ranges;

namespace IsoCluster.Gateway.Tests.Ranges;

public sealed class MultipartByteRangesTests
{
    private const string Type = "application/x-iso9660-image";

    // RFC 9110 §14.6 and §15.3.7.2, with RFC 2046 §5.1.1 delimiters: the exact bytes of a two-part body.
    [Fact]
    public void Create_TwoRanges_LaysOutExactBody()
    {
        byte[] data = Encoding.ASCII.GetBytes("0123456789");
        var layout = new MultipartByteRanges([new ByteRange(0, 2), new ByteRange(7, 3)], Type, 10, "SEP");

        Assert.Equal("multipart/byteranges; boundary=SEP", layout.ContentType);
        Assert.Equal(
            "--SEP\r\nContent-Type: application/x-iso9660-image\r\nContent-Range: bytes 0-1/10\r\n\r\n01"
            + "\r\n--SEP\r\nContent-Type: application/x-iso9660-image\r\nContent-Range: bytes 7-9/10\r\n\r\n789"
            + "\r\n--SEP--\r\n",
            Encoding.ASCII.GetString(Build(layout, data)));
    }

    // RFC 9110 §15.3.7.2: Content-Length is known up front and equals what is written, across digit widths.
    [Theory]
    [InlineData(10L, "0-0,9-9")]
    [InlineData(100L, "0-9,10-10,99-99")]
    [InlineData(1000L, "0-0,5-104,990-999")]
    [InlineData(100_000L, "0-0,9-9,99-99,999-999,9999-9999,99999-99999")]
    [InlineData(4096L, "0-4095,0-0")] // overlapping input is laid out as given
    public void Create_AnyRanges_ContentLengthEqualsBuiltBody(long completeLength, string spec)
    {
        byte[] data = Pattern(completeLength);
        ByteRange[] ranges = ParseSpec(spec);
        var layout = new MultipartByteRanges(ranges, Type, completeLength);

        byte[] body = Build(layout, data);

        Assert.Equal(layout.ContentLength, body.LongLength);
        Assert.Equal(ranges.Length, layout.Parts.Count);
        for (int i = 0; i < ranges.Length; i++)
        {
            MultipartPart part = layout.Parts[i];
            string expectedHeader = (i == 0 ? "" : "\r\n")
                + $"--{layout.Boundary}\r\nContent-Type: {Type}\r\nContent-Range: {ranges[i].ToContentRange(completeLength)}\r\n\r\n";
            Assert.Equal(expectedHeader, Encoding.ASCII.GetString(part.Header.Span));
            Assert.Equal(ranges[i], part.Range);
        }

        Assert.Equal($"\r\n--{layout.Boundary}--\r\n", Encoding.ASCII.GetString(layout.Trailer.Span));
        AssertPartsCarryTheirBytes(body, layout, data);
    }

    // RFC 2046 §5.1.1: the boundary must not occur in the body, so a random one is long and unpredictable.
    [Fact]
    public void Create_NoBoundaryGiven_UsesRandomTokenBoundary()
    {
        var first = new MultipartByteRanges([new ByteRange(0, 1)], Type, 1);
        var second = new MultipartByteRanges([new ByteRange(0, 1)], Type, 1);

        Assert.Equal(32, first.Boundary.Length);
        Assert.True(first.Boundary.All(char.IsAsciiHexDigitLower));
        Assert.NotEqual(first.Boundary, second.Boundary);
        Assert.Equal("multipart/byteranges; boundary=" + first.Boundary, first.ContentType);
    }

    // RFC 2046 §5.1.1 bchars that are also RFC 9110 §5.6.2 tchars, so the parameter needs no quotes.
    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("quote\"d")]
    [InlineData("semi;colon")]
    [InlineData("line\r\nbreak")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789x")] // 71 chars
    public void Create_BadBoundary_Throws(string boundary)
    {
        Assert.Throws<ArgumentException>(() => new MultipartByteRanges([new ByteRange(0, 1)], Type, 1, boundary));
    }

    [Theory]
    [InlineData("text/plain\r\nX-Injected: 1")]
    [InlineData("caf\u00e9/x")]
    public void Create_UnsafeContentType_Throws(string contentType)
    {
        Assert.Throws<ArgumentException>(() => new MultipartByteRanges([new ByteRange(0, 1)], contentType, 1));
    }

    [Theory]
    [InlineData(0, 0, 10)] // empty
    [InlineData(5, 6, 10)] // past the end
    [InlineData(-1, 2, 10)] // before the start
    public void Create_RangeOutsideRepresentation_Throws(long start, long length, long completeLength)
    {
        Assert.Throws<ArgumentException>(
            () => new MultipartByteRanges([new ByteRange(start, length)], Type, completeLength));
    }

    [Fact]
    public void Create_NoRanges_Throws()
    {
        Assert.Throws<ArgumentException>(() => new MultipartByteRanges([], Type, 10));
    }

    // RFC 9110 §15.3.7.2: each part carries its own bytes, findable by its own Content-Range.
    private static void AssertPartsCarryTheirBytes(byte[] body, MultipartByteRanges layout, byte[] data)
    {
        int offset = 0;
        foreach (MultipartPart part in layout.Parts)
        {
            Assert.True(body.AsSpan(offset).StartsWith(part.Header.Span));
            offset += part.Header.Length;
            Assert.True(body.AsSpan(offset, (int)part.Range.Length)
                .SequenceEqual(data.AsSpan((int)part.Range.Start, (int)part.Range.Length)));
            offset += (int)part.Range.Length;
        }

        Assert.True(body.AsSpan(offset).SequenceEqual(layout.Trailer.Span));
    }

    // What the serving code does: each header, then the range's bytes, then the trailer.
    private static byte[] Build(MultipartByteRanges layout, byte[] data)
    {
        using var body = new MemoryStream();
        foreach (MultipartPart part in layout.Parts)
        {
            body.Write(part.Header.Span);
            body.Write(data, (int)part.Range.Start, (int)part.Range.Length);
        }

        body.Write(layout.Trailer.Span);
        return body.ToArray();
    }

    private static byte[] Pattern(long length)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i * 31 % 251);
        }

        return data;
    }

    private static ByteRange[] ParseSpec(string spec) =>
        spec.Split(',').Select(pair =>
        {
            string[] ends = pair.Split('-');
            long start = long.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
            long end = long.Parse(ends[1], System.Globalization.CultureInfo.InvariantCulture);
            return new ByteRange(start, end - start + 1);
        }).ToArray();
}
