using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Tests.SourceIso;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("1048576", 1048576L)]
    [InlineData("64KiB", 65536L)]
    [InlineData("64k", 65536L)]
    [InlineData("512 MiB", 536870912L)]
    [InlineData("2GiB", 2147483648L)]
    public void TryParse_ValidSizes_AreBinaryUnits(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var size));
        Assert.Equal(bytes, size.Bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("MiB")]
    [InlineData("-1")]
    [InlineData("1.5GiB")]
    [InlineData("10TB")]
    [InlineData("99999999999999999999")]
    [InlineData("9999999999999GiB")]
    public void TryParse_InvalidSizes_AreRefused(string text)
    {
        Assert.False(ByteSize.TryParse(text, out _));
    }

    [Fact]
    public void ToString_RoundTrips()
    {
        Assert.Equal("1GiB", ByteSize.FromMebibytes(1024).ToString());
        Assert.True(ByteSize.TryParse(new ByteSize(3 * 1024 * 1024).ToString(), out var size));
        Assert.Equal(3 * 1024 * 1024, size.Bytes);
    }
}
