using System.Text;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Tests.SourceIso;

public sealed class MagicStringScannerTests
{
    private static readonly byte[] s_magic = Encoding.ASCII.GetBytes("MAGIC-0123456789");

    [Fact]
    public void FindOverlapping_OccurrencesInsideAndAcrossRange_AreReportedWithAbsoluteOffsets()
    {
        var window = new byte[200];
        s_magic.CopyTo(window, 10);   // ends before the range
        s_magic.CopyTo(window, 90);   // straddles the range start
        s_magic.CopyTo(window, 120);  // inside
        s_magic.CopyTo(window, 184);  // straddles the range end

        var found = MagicStringScanner.FindOverlapping(window, 1000, s_magic, rangeStart: 1100, rangeEnd: 1190);

        Assert.Equal([1090L, 1120L, 1184L], found);
    }

    [Fact]
    public void FindOverlapping_OccurrenceTouchingRangeEdgeOnly_IsNotReported()
    {
        var window = new byte[100];
        s_magic.CopyTo(window, 0);    // ends exactly at range start
        s_magic.CopyTo(window, 60);   // starts exactly at range end

        Assert.Empty(MagicStringScanner.FindOverlapping(window, 0, s_magic, rangeStart: 16, rangeEnd: 60));
    }

    [Fact]
    public void FindOverlapping_OccurrenceCutByWindowEdge_IsNotReported()
    {
        var window = s_magic.AsSpan(0, 10).ToArray();
        Assert.Empty(MagicStringScanner.FindOverlapping(window, 0, s_magic, 0, 10));
    }

    [Theory]
    [InlineData("abcabc", true)]
    [InlineData("aaaa", true)]
    [InlineData("abcd", false)]
    [InlineData(IsoOptions.HookOsMagicString, false)]
    public void OverlapsItself_DetectsPrefixEqualToSuffix(string magic, bool expected)
    {
        Assert.Equal(expected, MagicStringScanner.OverlapsItself(Encoding.ASCII.GetBytes(magic)));
    }

    [Fact]
    public void HookOsMagicString_Is1024Characters()
    {
        Assert.Equal(1024, IsoOptions.HookOsMagicString.Length);
    }
}
