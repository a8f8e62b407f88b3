using IsoCluster.Gateway.Ranges;

namespace IsoCluster.Gateway.Tests.Ranges;

public sealed class PreconditionsTests
{
    private const string ETag = "\"v1\"";

    // Last-Modified is Sun, 06 Nov 1994 08:49:37 GMT (the RFC 9110 §5.6.7 example).
    private const string Same = "Sun, 06 Nov 1994 08:49:37 GMT";
    private const string Before = "Sun, 06 Nov 1994 08:49:36 GMT";
    private const string After = "Sun, 06 Nov 1994 08:49:38 GMT";
    private const string SameRfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
    private const string SameAsctime = "Sun Nov  6 08:49:37 1994";

    private const string Proceed = nameof(PreconditionOutcome.Proceed);
    private const string NotModified = nameof(PreconditionOutcome.NotModified);
    private const string Failed = nameof(PreconditionOutcome.PreconditionFailed);

    private static readonly DateTimeOffset LastModified = new(1994, 11, 6, 8, 49, 37, TimeSpan.Zero);

    // RFC 9110 §13.2.2: with no conditional headers the request proceeds and may be partial.
    [Fact]
    public void Evaluate_NoConditions_ProceedsWithRange()
    {
        AssertResult(Proceed, true, Evaluate());
    }

    // RFC 9110 §13.1.1 with §8.8.3.2 strong comparison: a weak tag never satisfies If-Match.
    [Theory]
    [InlineData("\"v1\"", Proceed)]
    [InlineData("*", Proceed)]
    [InlineData(" * ", Proceed)]
    [InlineData("\"a\", \"v1\"", Proceed)]
    [InlineData("\"a\",\"b\" ,\t\"v1\"", Proceed)]
    [InlineData("\"a\",,\"v1\",", Proceed)] // §5.6.1 empty list elements
    [InlineData("\"v2\"", Failed)]
    [InlineData("\"a\", \"b\"", Failed)]
    [InlineData("W/\"v1\"", Failed)] // weak never matches strongly
    [InlineData("\"V1\"", Failed)] // opaque-tags compare case-sensitively
    [InlineData("v1", Failed)] // malformed: unquoted
    [InlineData("\"v1", Failed)] // malformed: unterminated
    [InlineData("\"v1\" \"v2\"", Failed)] // malformed: no comma
    [InlineData("*, \"v1\"", Failed)] // "*" only stands alone
    [InlineData("\"v 1\"", Failed)] // SP is not an etagc
    [InlineData("\"v1\", garbage", Failed)] // malformed anywhere voids the list
    [InlineData("", Proceed)] // empty value carries no condition
    public void Evaluate_IfMatch_StrongComparison(string ifMatch, string expected)
    {
        Assert.Equal(expected, Evaluate(ifMatch: ifMatch).Outcome.ToString());
    }

    // RFC 9110 §13.1.4: 412 when modified after the date; an invalid date is ignored.
    [Theory]
    [InlineData(Before, Failed)]
    [InlineData(Same, Proceed)]
    [InlineData(After, Proceed)]
    [InlineData(SameRfc850, Proceed)]
    [InlineData(SameAsctime, Proceed)]
    [InlineData("yesterday", Proceed)]
    [InlineData("Sun, 06 Nov 1994 08:49:36 PST", Proceed)]
    public void Evaluate_IfUnmodifiedSince_FailsWhenModifiedLater(string date, string expected)
    {
        Assert.Equal(expected, Evaluate(ifUnmodifiedSince: date).Outcome.ToString());
    }

    // RFC 9110 §13.2.2 step 2: If-Unmodified-Since is only evaluated when If-Match is absent.
    [Fact]
    public void Evaluate_IfMatchTrueAndIfUnmodifiedSinceFalse_Proceeds()
    {
        Assert.Equal(Proceed, Evaluate(ifMatch: ETag, ifUnmodifiedSince: Before).Outcome.ToString());
    }

    // RFC 9110 §13.1.4: without a modification date the field is ignored.
    [Fact]
    public void Evaluate_IfUnmodifiedSinceWithoutLastModified_Proceeds()
    {
        Assert.Equal(Proceed, Evaluate(ifUnmodifiedSince: Before, withoutLastModified: true).Outcome.ToString());
    }

    // RFC 9110 §13.1.2 with §8.8.3.2 weak comparison: any listed tag, weak or strong, or "*" gives 304.
    [Theory]
    [InlineData("\"v1\"", NotModified)]
    [InlineData("W/\"v1\"", NotModified)] // weak comparison ignores W/
    [InlineData("*", NotModified)]
    [InlineData("\"a\", \"v1\"", NotModified)]
    [InlineData("W/\"a\" , W/\"v1\"", NotModified)]
    [InlineData("\"a\", \"b\"", Proceed)]
    [InlineData("W/\"v2\"", Proceed)]
    [InlineData("w/\"v1\"", Proceed)] // W/ is case-sensitive, so this is malformed
    [InlineData("\"v1\" junk", Proceed)] // malformed never matches
    [InlineData("   ", Proceed)] // whitespace carries no condition
    public void Evaluate_IfNoneMatch_WeakComparison(string ifNoneMatch, string expected)
    {
        Assert.Equal(expected, Evaluate(ifNoneMatch: ifNoneMatch).Outcome.ToString());
    }

    // RFC 9110 §13.2.2: If-Match is evaluated before If-None-Match, so its 412 wins.
    [Fact]
    public void Evaluate_IfMatchFalseAndIfNoneMatchTrue_PreconditionFailed()
    {
        Assert.Equal(Failed, Evaluate(ifMatch: "\"v2\"", ifNoneMatch: ETag).Outcome.ToString());
    }

    // RFC 9110 §13.1.3 with the three date formats of §5.6.7: not modified since the date gives 304.
    [Theory]
    [InlineData(Same, NotModified)]
    [InlineData(After, NotModified)]
    [InlineData(SameRfc850, NotModified)]
    [InlineData(SameAsctime, NotModified)]
    [InlineData(Before, Proceed)]
    [InlineData("not a date", Proceed)] // invalid dates are ignored
    [InlineData(Same + ", " + Same, Proceed)] // more than one member is ignored
    public void Evaluate_IfModifiedSince_NotModifiedWhenUnchanged(string date, string expected)
    {
        Assert.Equal(expected, Evaluate(ifModifiedSince: date).Outcome.ToString());
    }

    // RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match is present.
    [Fact]
    public void Evaluate_IfNoneMatchFalseAndIfModifiedSinceTrue_Proceeds()
    {
        Assert.Equal(Proceed, Evaluate(ifNoneMatch: "\"v2\"", ifModifiedSince: Same).Outcome.ToString());
    }

    // RFC 9110 §13.1.3: without a modification date the field is ignored.
    [Fact]
    public void Evaluate_IfModifiedSinceWithoutLastModified_Proceeds()
    {
        Assert.Equal(Proceed, Evaluate(ifModifiedSince: After, withoutLastModified: true).Outcome.ToString());
    }

    // RFC 9110 §5.6.7: HTTP-dates have whole seconds, so a sub-second Last-Modified compares by its second.
    [Fact]
    public void Evaluate_SubSecondLastModified_ComparedAtSecondPrecision()
    {
        DateTimeOffset precise = LastModified.AddMilliseconds(500);

        Assert.Equal(NotModified, Evaluate(ifModifiedSince: Same, lastModified: precise).Outcome.ToString());
        Assert.True(Evaluate(ifRange: Same, lastModified: precise).HonourRange);
    }

    // RFC 9110 §13.1.5: a strong tag must match strongly; a weak tag never matches; a date must equal
    // Last-Modified exactly; anything else means the whole representation is sent.
    [Theory]
    [InlineData("\"v1\"", true)]
    [InlineData(" \"v1\" ", true)]
    [InlineData("\"v2\"", false)]
    [InlineData("W/\"v1\"", false)] // weak never matches
    [InlineData("W/\"v2\"", false)]
    [InlineData("\"v1\", \"v2\"", false)] // If-Range carries one validator, not a list
    [InlineData(Same, true)]
    [InlineData(SameRfc850, true)]
    [InlineData(SameAsctime, true)]
    [InlineData(Before, false)] // not equal
    [InlineData(After, false)] // later is not equal either
    [InlineData("garbage", false)]
    [InlineData("\"v1", false)]
    public void Evaluate_IfRange_HonoursRangeOnlyOnExactMatch(string ifRange, bool honour)
    {
        PreconditionResult result = Evaluate(ifRange: ifRange);

        AssertResult(Proceed, honour, result);
    }

    // RFC 9110 §13.1.5: a date cannot match a representation without a modification date.
    [Fact]
    public void Evaluate_IfRangeDateWithoutLastModified_RangeNotHonoured()
    {
        Assert.False(Evaluate(ifRange: Same, withoutLastModified: true).HonourRange);
    }

    // RFC 9110 §13.2.2 step 5 comes after the 304 decision, which never carries a range.
    [Fact]
    public void Evaluate_NotModifiedWithIfRange_RangeNotHonoured()
    {
        AssertResult(NotModified, false, Evaluate(ifNoneMatch: ETag, ifRange: ETag));
    }

    // RFC 9110 §5.6.7: recipients accept IMF-fixdate, RFC 850 and asctime, all in GMT.
    [Theory]
    [InlineData(Same)]
    [InlineData(SameRfc850)]
    [InlineData(SameAsctime)]
    [InlineData("Thu, 01 Jan 1970 00:00:00 GMT", false)]
    [InlineData("Wed, 31 Dec 2025 23:59:59 GMT", false)]
    [InlineData("Wed Nov 16 08:49:37 1994", false)] // asctime with a two-digit day
    public void TryParseHttpDate_ValidFormats_Parses(string text, bool isLastModified = true)
    {
        Assert.True(Preconditions.TryParseHttpDate(text, out DateTimeOffset date));
        Assert.Equal(TimeSpan.Zero, date.Offset);
        if (isLastModified)
        {
            Assert.Equal(LastModified, date);
        }
    }

    // RFC 9110 §5.6.7: anything else is not an HTTP-date.
    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("1994-11-06T08:49:37Z")]
    [InlineData("Sun, 06 Nov 1994 08:49:37 PST")]
    [InlineData("Mon, 06 Nov 1994 08:49:37 GMT")] // wrong day-name
    [InlineData("Sun, 31 Nov 1994 08:49:37 GMT")] // no such day
    [InlineData("Sun, 06 Nov 1994 25:49:37 GMT")]
    public void TryParseHttpDate_Invalid_ReturnsFalse(string text)
    {
        Assert.False(Preconditions.TryParseHttpDate(text, out _));
    }

    [Theory]
    [InlineData("v1")]
    [InlineData("W/\"v1\"")]
    [InlineData("\"")]
    public void Evaluate_RepresentationTagNotStrongAndQuoted_Throws(string etag)
    {
        Assert.Throws<ArgumentException>(
            () => Preconditions.Evaluate(null, null, null, null, null, etag, LastModified));
    }

    // The outcome enum is internal, so theory rows carry its name.
    private static void AssertResult(string outcome, bool honourRange, PreconditionResult actual)
    {
        Assert.Equal(outcome, actual.Outcome.ToString());
        Assert.Equal(honourRange, actual.HonourRange);
    }

    private static PreconditionResult Evaluate(
        string? ifMatch = null,
        string? ifUnmodifiedSince = null,
        string? ifNoneMatch = null,
        string? ifModifiedSince = null,
        string? ifRange = null,
        DateTimeOffset? lastModified = null,
        bool withoutLastModified = false) =>
        Preconditions.Evaluate(
            ifMatch,
            ifUnmodifiedSince,
            ifNoneMatch,
            ifModifiedSince,
            ifRange,
            ETag,
            withoutLastModified ? null : lastModified ?? LastModified);
}
