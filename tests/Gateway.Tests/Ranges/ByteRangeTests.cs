using System.Text;
using IsoCluster.Gateway.Ranges;

namespace IsoCluster.Gateway.Tests.Ranges;

public sealed class ByteRangeTests
{
    // RFC 9110 §14.4: Content-Range is "bytes first-last/complete-length", positions inclusive.
    [Theory]
    [InlineData(0, 1, 10, 0, "bytes 0-0/10")]
    [InlineData(0, 10, 10, 9, "bytes 0-9/10")]
    [InlineData(5, 5, 10, 9, "bytes 5-9/10")]
    [InlineData(65536, 65536, 4294967296, 131071, "bytes 65536-131071/4294967296")]
    [InlineData(9223372036854775806, 1, 9223372036854775807, 9223372036854775806,
        "bytes 9223372036854775806-9223372036854775806/9223372036854775807")]
    public void ToContentRange_Range_FormatsInclusivePositions(
        long start, long length, long complete, long end, string expected)
    {
        var range = new ByteRange(start, length);

        Assert.Equal(end, range.End);
        Assert.Equal(expected, range.ToContentRange(complete));
    }

    // RFC 9110 §14.4: the UTF-8 form and its predicted length agree with the string form.
    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(9, 1, 10)]
    [InlineData(99, 1, 100)]
    [InlineData(999_999, 1, 1_000_000)]
    [InlineData(0, 9223372036854775807, 9223372036854775807)]
    public void TryFormatContentRange_EnoughSpace_WritesSameAsString(long start, long length, long complete)
    {
        var range = new ByteRange(start, length);
        Span<byte> buffer = stackalloc byte[128];

        Assert.True(range.TryFormatContentRange(buffer, complete, out int written));

        Assert.Equal(range.ToContentRange(complete), Encoding.ASCII.GetString(buffer[..written]));
        Assert.Equal(written, range.ContentRangeLength(complete));
    }

    [Fact]
    public void TryFormatContentRange_TooSmall_ReturnsFalse()
    {
        Assert.False(new ByteRange(0, 10).TryFormatContentRange(new byte[5], 10, out _));
    }

    // RFC 9110 §14.4 and §15.5.17: a 416 carries "bytes */complete-length".
    [Theory]
    [InlineData(0, "bytes */0")]
    [InlineData(10, "bytes */10")]
    public void UnsatisfiedContentRange_Length_FormatsStar(long complete, string expected)
    {
        Assert.Equal(expected, ByteRange.UnsatisfiedContentRange(complete));
    }
}
