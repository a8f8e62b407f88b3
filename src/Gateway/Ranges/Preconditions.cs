using System.Globalization;

namespace IsoCluster.Gateway.Ranges;

/// <summary>What the preconditions of a GET or HEAD decide.</summary>
internal enum PreconditionOutcome
{
    /// <summary>Serve the representation (200, or 206 when <see cref="PreconditionResult.HonourRange"/>).</summary>
    Proceed = 0,

    /// <summary>Send 304 Not Modified (RFC 9110 §15.4.5).</summary>
    NotModified = 1,

    /// <summary>Send 412 Precondition Failed (RFC 9110 §15.5.13).</summary>
    PreconditionFailed = 2,
}

/// <summary>The outcome of <see cref="Preconditions.Evaluate"/>.</summary>
/// <param name="Outcome">What to send.</param>
/// <param name="HonourRange">
/// Whether a <c>Range</c> header, if any, may be served as a partial response: false when <c>If-Range</c> does
/// not match (§13.1.5) and for any outcome but <see cref="PreconditionOutcome.Proceed"/>. The caller still
/// ignores Range for any method but GET, HEAD included (§14.2 defines range handling for GET only).
/// </param>
internal readonly record struct PreconditionResult(PreconditionOutcome Outcome, bool HonourRange);

/// <summary>Evaluates the conditional headers of a GET or HEAD in the order of RFC 9110 §13.2.2.</summary>
/// <remarks>
/// Header values are raw; repeated field lines joined with commas (§5.3, as ASP.NET's <c>StringValues</c>
/// converts to a string) form the lists the grammar expects. A value that is empty or whitespace carries no
/// condition and is treated as absent. A malformed entity-tag list never matches, which fails safe both ways:
/// <c>If-Match</c> gives 412 and <c>If-None-Match</c> gives the full response. An unparseable date is ignored
/// (§13.1.3, §13.1.4), and so is a date field when there is no Last-Modified.
/// </remarks>
internal static class Preconditions
{
    private const string Ows = " \t";

    // §5.6.7: recipients must accept IMF-fixdate and both obsolete formats. AllowWhiteSpaces absorbs asctime's
    // space-padded day ("Nov  6"). Two-digit RFC 850 years resolve through the invariant calendar (pivot
    // 2049), as System.Net.Http does, rather than the "50 years in the future" rule, which needs a clock.
    private static readonly string[] HttpDateFormats =
    [
        "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        "dddd, dd'-'MMM'-'yy HH':'mm':'ss 'GMT'",
        "ddd MMM d HH':'mm':'ss yyyy",
    ];

    /// <summary>Decides how to answer a GET or HEAD for a representation with the given validators.</summary>
    /// <param name="ifMatch">The <c>If-Match</c> value, or null.</param>
    /// <param name="ifUnmodifiedSince">The <c>If-Unmodified-Since</c> value, or null.</param>
    /// <param name="ifNoneMatch">The <c>If-None-Match</c> value, or null.</param>
    /// <param name="ifModifiedSince">The <c>If-Modified-Since</c> value, or null.</param>
    /// <param name="ifRange">The <c>If-Range</c> value, or null.</param>
    /// <param name="etag">The representation's strong entity-tag, quotes included, e.g. <c>"abc"</c>.</param>
    /// <param name="lastModified">The representation's modification time, if known; compared at whole seconds.</param>
    /// <returns>What to send, and whether a Range header may be honoured.</returns>
    /// <exception cref="ArgumentException"><paramref name="etag"/> is not a strong, quoted entity-tag.</exception>
    public static PreconditionResult Evaluate(
        string? ifMatch,
        string? ifUnmodifiedSince,
        string? ifNoneMatch,
        string? ifModifiedSince,
        string? ifRange,
        string etag,
        DateTimeOffset? lastModified)
    {
        ArgumentNullException.ThrowIfNull(etag);
        if (etag.Length < 2 || etag[0] != '"' || etag[^1] != '"')
        {
            throw new ArgumentException("The entity-tag must be strong and quoted.", nameof(etag));
        }

        // HTTP-dates have whole-second precision (§5.6.7), so a sub-second Last-Modified would never be "equal".
        DateTimeOffset? modified = lastModified is { } value
            ? value.AddTicks(-(value.Ticks % TimeSpan.TicksPerSecond))
            : null;

        // Steps 1–2: If-Match uses strong comparison (§13.1.1); If-Unmodified-Since only without it (§13.1.4).
        if (IsPresent(ifMatch))
        {
            if (!ListMatches(ifMatch, etag, weakComparison: false))
            {
                return new PreconditionResult(PreconditionOutcome.PreconditionFailed, HonourRange: false);
            }
        }
        else if (modified is { } m && TryParseHttpDate(ifUnmodifiedSince, out DateTimeOffset since) && m > since)
        {
            return new PreconditionResult(PreconditionOutcome.PreconditionFailed, HonourRange: false);
        }

        // Steps 3–4: If-None-Match uses weak comparison (§13.1.2); If-Modified-Since only without it (§13.1.3).
        if (IsPresent(ifNoneMatch))
        {
            if (ListMatches(ifNoneMatch, etag, weakComparison: true))
            {
                return new PreconditionResult(PreconditionOutcome.NotModified, HonourRange: false);
            }
        }
        else if (modified is { } m && TryParseHttpDate(ifModifiedSince, out DateTimeOffset since) && m <= since)
        {
            return new PreconditionResult(PreconditionOutcome.NotModified, HonourRange: false);
        }

        // Step 5: If-Range decides between a partial and a full response (§13.1.5).
        bool honourRange = !IsPresent(ifRange) || IfRangeMatches(ifRange, etag, modified);
        return new PreconditionResult(PreconditionOutcome.Proceed, honourRange);
    }

    /// <summary>Parses an HTTP-date in any of the three formats of RFC 9110 §5.6.7.</summary>
    /// <param name="text">The field value.</param>
    /// <param name="date">The instant, in UTC.</param>
    /// <returns>False when <paramref name="text"/> is not an HTTP-date.</returns>
    public static bool TryParseHttpDate(ReadOnlySpan<char> text, out DateTimeOffset date) =>
        DateTimeOffset.TryParseExact(
            text,
            HttpDateFormats,
            CultureInfo.InvariantCulture,
            DateTimeStyles.AllowWhiteSpaces | DateTimeStyles.AssumeUniversal,
            out date);

    private static bool IsPresent(string? value) => !string.IsNullOrWhiteSpace(value);

    // §13.1.5: an entity-tag must match strongly, so a weak one never does; a date must equal Last-Modified
    // exactly; anything else (including a malformed value) is false, so the full representation is sent.
    private static bool IfRangeMatches(ReadOnlySpan<char> value, string etag, DateTimeOffset? modified)
    {
        value = value.Trim(Ows);
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            return false;
        }

        if (value[0] == '"')
        {
            return TryReadEntityTag(ref value, out bool weak, out ReadOnlySpan<char> tag)
                && !weak
                && value.IsEmpty
                && tag.SequenceEqual(etag);
        }

        return modified is { } m && TryParseHttpDate(value, out DateTimeOffset date) && date == m;
    }

    // If-Match / If-None-Match = "*" / #entity-tag (§13.1.1, §13.1.2). Strong comparison needs both tags
    // strong; weak comparison ignores the W/ prefix (§8.8.3.2). The representation exists, so "*" matches.
    private static bool ListMatches(ReadOnlySpan<char> field, string etag, bool weakComparison)
    {
        field = field.Trim(Ows);
        if (field is "*")
        {
            return true;
        }

        bool matched = false;
        while (true)
        {
            // §5.6.1: empty list elements and whitespace around commas are allowed.
            field = field.TrimStart(Ows);
            if (field.IsEmpty)
            {
                return matched;
            }

            if (field[0] == ',')
            {
                field = field[1..];
                continue;
            }

            if (!TryReadEntityTag(ref field, out bool weak, out ReadOnlySpan<char> tag))
            {
                return false;
            }

            matched |= (weakComparison || !weak) && tag.SequenceEqual(etag);
            field = field.TrimStart(Ows);
            if (!field.IsEmpty && field[0] != ',')
            {
                return false;
            }
        }
    }

    // entity-tag = [ %s"W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text (§8.8.3).
    // The tag is returned with its quotes, the form the representation's own entity-tag is given in.
    private static bool TryReadEntityTag(ref ReadOnlySpan<char> text, out bool weak, out ReadOnlySpan<char> tag)
    {
        tag = default;
        weak = text.StartsWith("W/", StringComparison.Ordinal);
        ReadOnlySpan<char> rest = weak ? text[2..] : text;
        if (rest.IsEmpty || rest[0] != '"')
        {
            return false;
        }

        int close = rest[1..].IndexOf('"');
        if (close < 0)
        {
            return false;
        }

        foreach (char c in rest.Slice(1, close))
        {
            if (c is < '\x21' or '\x7F' or > '\xFF')
            {
                return false;
            }
        }

        tag = rest[..(close + 2)];
        text = rest[(close + 2)..];
        return true;
    }
}
