using IsoCluster.Gateway.Ranges;

namespace IsoCluster.Gateway.Tests.Ranges;

// Expected results are written as "full", "416", or the ranges as "first-last" joined by ','.
public sealed class RangeHeaderTests
{
    private const int Cap = 16;

    // RFC 9110 §14.2: a request without Range, or with an ignorable one, gets the whole representation.
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Parse_NoHeader_Full(string? header)
    {
        Assert.Equal("full", Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1.2: int-range, open int-range and suffix-range against a 10-byte representation.
    [Theory]
    [InlineData("bytes=0-0", "0-0")] // first byte only
    [InlineData("bytes=0-9", "0-9")] // the whole representation
    [InlineData("bytes=3-6", "3-6")]
    [InlineData("bytes=9-9", "9-9")] // last byte
    [InlineData("bytes=5-", "5-9")] // open range runs to the end
    [InlineData("bytes=0-", "0-9")]
    [InlineData("bytes=-1", "9-9")] // suffix: last byte
    [InlineData("bytes=-4", "6-9")]
    [InlineData("bytes=-10", "0-9")]
    [InlineData("bytes=0005-0006", "5-6")] // 1*DIGIT allows leading zeros
    public void Parse_SingleRange_ReturnsRange(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1.2: a last-pos at or past the end, or a suffix longer than the representation, is clamped.
    [Theory]
    [InlineData("bytes=5-10", "5-9")]
    [InlineData("bytes=5-100", "5-9")]
    [InlineData("bytes=0-9223372036854775807", "0-9")] // long.MaxValue last-pos
    [InlineData("bytes=-11", "0-9")]
    [InlineData("bytes=-9223372036854775807", "0-9")] // long.MaxValue suffix-length
    public void Parse_EndPastRepresentation_Clamped(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1.1: satisfiable means first-pos < length, or a non-zero suffix-length; else 416 (§15.5.17).
    [Theory]
    [InlineData("bytes=10-")] // first-pos == length
    [InlineData("bytes=10-20")]
    [InlineData("bytes=15-")] // first-pos past the end
    [InlineData("bytes=-0")] // zero suffix-length
    [InlineData("bytes=9223372036854775807-")] // long.MaxValue first-pos
    [InlineData("bytes=20-30, -0")] // every member unsatisfiable
    public void Parse_NothingSatisfiable_Unsatisfiable(string header)
    {
        Assert.Equal("416", Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1.1 grammar; §14.2: an invalid ranges-specifier is ignored, so the whole body is sent.
    [Theory]
    [InlineData("bytes=9-5")] // last-pos < first-pos is invalid, not unsatisfiable
    [InlineData("bytes=")] // range-set = 1#range-spec needs one member
    [InlineData("bytes=,")] // only empty list elements
    [InlineData("bytes= , ,")]
    [InlineData("bytes")] // no '='
    [InlineData("=0-1")] // no unit
    [InlineData("bytes =0-1")] // no whitespace around '='
    [InlineData("bytes= 0 -1")]
    [InlineData("bytes=0- 1")]
    [InlineData("bytes=-")]
    [InlineData("bytes=--1")]
    [InlineData("bytes=1-2-3")]
    [InlineData("bytes=+1-2")]
    [InlineData("bytes=1.5-2")]
    [InlineData("bytes=a-b")]
    [InlineData("bytes=0x1-2")]
    [InlineData("bytes=0-1 2-3")] // members must be comma-separated
    [InlineData("bytes=0-1;2-3")]
    [InlineData("bytes=0-1,9-5")] // one invalid member voids the whole field
    [InlineData("bytes=0-1,x")]
    public void Parse_InvalidSyntax_Full(string header)
    {
        Assert.Equal("full", Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1 (units are case-insensitive) and §14.2 (an unknown unit is ignored).
    [Theory]
    [InlineData("items=0-1", "full")]
    [InlineData("byte=0-1", "full")]
    [InlineData("bytesx=0-1", "full")]
    [InlineData("none", "full")]
    [InlineData("BYTES=0-1", "0-1")]
    [InlineData("Bytes=0-1", "0-1")]
    public void Parse_RangeUnit_OnlyBytesHonoured(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1.2: a last-pos "greater than or equal to the current length" means to the end, and a suffix-length
    // "greater than the length" means the whole representation, however many digits either has.
    [Theory]
    [InlineData("bytes=0-9223372036854775808", "0-9")] // long.MaxValue + 1
    [InlineData("bytes=0-99999999999999999999", "0-9")]
    [InlineData("bytes=5-99999999999999999999999999999999", "5-9")]
    [InlineData("bytes=9223372036854775807-99999999999999999999", "416")] // first-pos still past the end
    [InlineData("bytes=-9223372036854775808", "0-9")]
    [InlineData("bytes=-99999999999999999999", "0-9")]
    [InlineData("bytes=-99999999999999999999999999999999", "0-9")]
    [InlineData("bytes=0-1,-99999999999999999999", "0-9")]
    public void Parse_OverflowingLastPosOrSuffix_ClampedToTheEnd(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1.1: a first-pos past long.MaxValue is past the end of any representation: unsatisfiable (416),
    // not invalid.
    [Theory]
    [InlineData("bytes=9223372036854775808-")]
    [InlineData("bytes=99999999999999999999-")]
    [InlineData("bytes=99999999999999999999-99999999999999999999")]
    [InlineData("bytes=99999999999999999999-999999999999999999999")]
    [InlineData("bytes=00000000000000000000099999999999999999999-99999999999999999999")] // leading zeros do not count
    public void Parse_OverflowingFirstPos_Unsatisfiable(string header)
    {
        Assert.Equal("416", Describe(RangeHeader.Parse(header, 10, Cap)));
        Assert.Equal("416", Describe(RangeHeader.Parse(header, long.MaxValue, Cap)));
    }

    // RFC 9110 §14.1.2: an overflowing first-pos in a set is an unsatisfiable member, dropped like any other.
    [Theory]
    [InlineData("bytes=99999999999999999999-,0-1", "0-1")]
    [InlineData("bytes=-2,99999999999999999999-", "8-9")]
    public void Parse_OverflowingFirstPosAmongOthers_Dropped(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1.1: last-pos less than first-pos is invalid (ignored, 200) even when both are past long.MaxValue.
    [Theory]
    [InlineData("bytes=99999999999999999999-99999999999999999998")]
    [InlineData("bytes=99999999999999999999-9999999999999999999")]
    [InlineData("bytes=99999999999999999999-5")]
    [InlineData("bytes=9223372036854775808-9223372036854775807")]
    public void Parse_OverflowingPositionsReversed_Full(string header)
    {
        Assert.Equal("full", Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    [Fact]
    public void Parse_ThousandDigitLastPos_ClampedToTheEnd()
    {
        // RFC 9110 §14.1.2 sets no limit on the digits; the parser saturates rather than failing or looping long.
        Assert.Equal("3-9", Describe(RangeHeader.Parse("bytes=3-" + new string('9', 1000), 10, Cap)));
    }

    // RFC 9110 §5.5 (no surrounding whitespace in a field value) and §5.6.1 (OWS around commas, empty elements).
    [Theory]
    [InlineData(" bytes=0-1 ", "0-1")]
    [InlineData("\tbytes=0-1\t", "0-1")]
    [InlineData("bytes=0-1 , 4-5", "0-1,4-5")]
    [InlineData("bytes=0-1,\t4-5", "0-1,4-5")]
    [InlineData("bytes=0-1 ,4-5", "0-1,4-5")]
    [InlineData("bytes= 0-1", "0-1")]
    [InlineData("bytes=0-1,,4-5", "0-1,4-5")]
    [InlineData("bytes=,0-1, ,4-5,", "0-1,4-5")]
    public void Parse_WhitespaceAndEmptyElements_Tolerated(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.1.1: a set is satisfiable if any member is; unsatisfiable members are dropped.
    [Theory]
    [InlineData("bytes=0-1,20-30", "0-1")]
    [InlineData("bytes=20-30,0-1", "0-1")]
    [InlineData("bytes=-0,8-", "8-9")]
    [InlineData("bytes=0-1,-0,4-5,10-", "0-1,4-5")]
    public void Parse_SomeMembersUnsatisfiable_DropsThem(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §15.3.7.2: overlapping ranges and gaps smaller than a part's overhead may be coalesced.
    [Theory]
    [InlineData("bytes=0-4,3-7", "0-7")] // overlapping
    [InlineData("bytes=0-4,5-9", "0-9")] // adjacent
    [InlineData("bytes=5-9,0-4", "0-9")] // adjacent, out of order
    [InlineData("bytes=0-1,3-4,1-3", "0-4")] // chain closed by a later member
    [InlineData("bytes=2-3,2-3", "2-3")] // duplicates
    [InlineData("bytes=0-9,2-3", "0-9")] // contained
    [InlineData("bytes=0-,-1", "0-9")] // open and suffix covering the end
    [InlineData("bytes=0-0,-1", "0-0,9-9")] // disjoint stays two
    [InlineData("bytes=5-6,0-1", "0-1,5-6")] // disjoint is sorted ascending
    [InlineData("bytes=8-8,0-0,4-4", "0-0,4-4,8-8")]
    public void Parse_OverlappingOrAdjacent_CoalescedAscending(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, Cap)));
    }

    // RFC 9110 §14.2 and §17.15: a server may ignore a set of many ranges, which is a denial-of-service vector.
    [Theory]
    [InlineData("bytes=0-0,2-2,4-4", "0-0,2-2,4-4")] // at the cap
    [InlineData("bytes=0-0,1-1,2-2", "0-2")] // at the cap, coalesced
    [InlineData("bytes=0-0,2-2,4-4,6-6", "full")] // over the cap
    [InlineData("bytes=0-0,0-0,0-0,0-0", "full")] // over the cap even though they coalesce to one
    [InlineData("bytes=0-0,20-,30-,40-", "full")] // unsatisfiable members count too
    [InlineData("bytes=0-0,,,2-2,,4-4,", "0-0,2-2,4-4")] // empty elements do not count
    public void Parse_RangeCountAgainstCap_FullWhenOver(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 10, maxRanges: 3)));
    }

    [Fact]
    public void Parse_ManyRangesOverCap_Full()
    {
        // RFC 9110 §17.15: thousands of tiny ranges are ignored, not laid out.
        string header = "bytes=" + string.Join(',', Enumerable.Range(0, 5000).Select(i => $"{i * 2}-{i * 2}"));

        Assert.Equal("full", Describe(RangeHeader.Parse(header, 100_000, Cap)));
    }

    // RFC 9110 §14.1.2 counts a non-zero suffix as satisfiable, but no §14.4 Content-Range describes an empty part.
    [Theory]
    [InlineData("bytes=0-0", "416")]
    [InlineData("bytes=0-", "416")]
    [InlineData("bytes=-1", "416")]
    [InlineData("bytes=-0", "416")]
    [InlineData("bytes=0-0,-5", "416")]
    [InlineData("bytes=9-5", "full")] // still invalid syntax first
    [InlineData("items=0-0", "full")]
    public void Parse_ZeroLengthRepresentation_NothingSatisfiable(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, 0, Cap)));
    }

    // RFC 9110 §14.1.2: positions near long.MaxValue must not overflow when clamping or computing a suffix.
    [Theory]
    [InlineData("bytes=-1", "9223372036854775806-9223372036854775806")]
    [InlineData("bytes=9223372036854775805-", "9223372036854775805-9223372036854775806")]
    [InlineData("bytes=0-0,9223372036854775806-", "0-0,9223372036854775806-9223372036854775806")]
    [InlineData("bytes=9223372036854775807-", "416")]
    public void Parse_HugeRepresentation_NoOverflow(string header, string expected)
    {
        Assert.Equal(expected, Describe(RangeHeader.Parse(header, long.MaxValue, Cap)));
    }

    [Fact]
    public void Parse_SingleRange_LengthMatchesEndpoints()
    {
        // RFC 9110 §14.1.2: positions are inclusive, so bytes=3-6 is four bytes.
        RangeRequest request = RangeHeader.Parse("bytes=3-6", 10, Cap);

        Assert.Equal(RangeRequestKind.Ranges, request.Kind);
        Assert.Equal(new ByteRange(3, 4), Assert.Single(request.Ranges));
    }

    [Fact]
    public void Parse_NegativeLength_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RangeHeader.Parse("bytes=0-0", -1, Cap));
    }

    [Fact]
    public void Parse_CapBelowOne_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RangeHeader.Parse("bytes=0-0", 10, 0));
    }

    private static string Describe(RangeRequest request) => request.Kind switch
    {
        RangeRequestKind.Full => request.Ranges.Count == 0 ? "full" : "full with ranges?!",
        RangeRequestKind.Unsatisfiable => request.Ranges.Count == 0 ? "416" : "416 with ranges?!",
        _ => string.Join(',', request.Ranges.Select(r => $"{r.Start}-{r.End}")),
    };
}
