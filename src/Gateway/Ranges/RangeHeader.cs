namespace IsoCluster.Gateway.Ranges;

/// <summary>What a <c>Range</c> header asks of a representation of known length.</summary>
internal enum RangeRequestKind
{
    /// <summary>
    /// Send the whole representation (200): no header, an invalid ranges-specifier, a unit other than
    /// <c>bytes</c>, or more range-specs than the cap.
    /// </summary>
    Full = 0,

    /// <summary>Send 206 with <see cref="RangeRequest.Ranges"/>: one range as a single part, more as multipart.</summary>
    Ranges = 1,

    /// <summary>Send 416 with <c>Content-Range: bytes */length</c> (<see cref="ByteRange.UnsatisfiedContentRange"/>).</summary>
    Unsatisfiable = 2,
}

/// <summary>The outcome of <see cref="RangeHeader.Parse"/>.</summary>
/// <remarks>
/// One range, by far the usual request, is held inline: a list for it would be a small object per request.
/// </remarks>
internal readonly struct RangeRequest
{
    private readonly ByteRange _single;
    private readonly ByteRange[]? _several;

    private RangeRequest(RangeRequestKind kind, ByteRange single, ByteRange[]? several)
    {
        Kind = kind;
        _single = single;
        _several = several;
    }

    /// <summary>Send the whole representation.</summary>
    public static RangeRequest Full => new(RangeRequestKind.Full, default, null);

    /// <summary>Send 416.</summary>
    public static RangeRequest Unsatisfiable => new(RangeRequestKind.Unsatisfiable, default, null);

    /// <summary>What to send.</summary>
    public RangeRequestKind Kind { get; }

    /// <summary>How many ranges: 0 unless <see cref="RangeRequestKind.Ranges"/>.</summary>
    public int Count => Kind != RangeRequestKind.Ranges ? 0 : _several?.Length ?? 1;

    /// <summary>The first range, for <see cref="RangeRequestKind.Ranges"/>.</summary>
    public ByteRange First => _several is { } several ? several[0] : _single;

    /// <summary>
    /// For <see cref="RangeRequestKind.Ranges"/>: at least one non-empty range, ascending, none overlapping or adjacent,
    /// each within the representation. Empty otherwise. (A new list for a single range: use <see cref="First"/> then.)
    /// </summary>
    public IReadOnlyList<ByteRange> Ranges => Kind != RangeRequestKind.Ranges ? [] : _several ?? [_single];

    /// <summary>Send one range.</summary>
    public static RangeRequest One(ByteRange range) => new(RangeRequestKind.Ranges, range, null);

    /// <summary>Send <paramref name="ranges"/> (ascending, disjoint): as a single part when there is one, else multipart.</summary>
    public static RangeRequest Several(ByteRange[] ranges) =>
        ranges.Length == 1 ? One(ranges[0]) : new(RangeRequestKind.Ranges, default, ranges);
}

/// <summary>Parses a <c>Range</c> header value (RFC 9110 §14.1.1–§14.1.2, §14.2) for a representation of known length.</summary>
internal static class RangeHeader
{
    private const string Ows = " \t";

    /// <summary>
    /// Parses a <c>Range</c> field value against a representation of <paramref name="length"/> bytes.
    /// </summary>
    /// <remarks>
    /// <para>An invalid ranges-specifier (for example <c>bytes=9-5</c>, <c>bytes=</c>), another unit, or more than
    /// <paramref name="maxRanges"/> range-specs gives <see cref="RangeRequestKind.Full"/>: §14.2 lets a server ignore
    /// such a field, and §17.15 warns that many ranges are a denial-of-service vector.</para>
    /// <para>Unsatisfiable members of a set are dropped (§14.1.1: a set is satisfiable if any member is). A
    /// last-pos at or past the end, or a suffix longer than the representation, is clamped to it (§14.1.2), however
    /// many digits it has: one past <see cref="long.MaxValue"/> is still "to the end", and a first-pos that large is
    /// past any end, so unsatisfiable. A
    /// zero-length representation satisfies nothing here, although §14.1.2 counts a non-zero suffix-range as
    /// satisfiable: no §14.4 <c>Content-Range</c> can describe the empty part it would select.</para>
    /// <para>Overlapping and adjacent ranges are coalesced and the result is sorted ascending, as §15.3.7.2
    /// allows "regardless of the order" requested. That section's SHOULD to keep request order for parts is
    /// knowingly not followed for disjoint ranges: ascending parts read chunks sequentially, and §14.2 treats
    /// many out-of-order ranges as suspect anyway. A coalesced set of one is a single range.</para>
    /// </remarks>
    /// <param name="value">
    /// The field value; null or empty when the request has no <c>Range</c> header. Range is a singleton field
    /// (§14.2), so repeated field lines joined with commas fail to parse and give <see cref="RangeRequestKind.Full"/>.
    /// </param>
    /// <param name="length">The length of the selected representation.</param>
    /// <param name="maxRanges">The most range-specs honoured; more means <see cref="RangeRequestKind.Full"/>.</param>
    /// <returns>What to send.</returns>
    public static RangeRequest Parse(string? value, long length, int maxRanges)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRanges, 1);

        // §5.5: surrounding whitespace is not part of a field value.
        ReadOnlySpan<char> field = value.AsSpan().Trim(Ows);
        int equals = field.IndexOf('=');

        // §14.1: range units are case-insensitive; §14.2: a unit the server does not support is ignored.
        if (equals < 0 || !field[..equals].Equals("bytes", StringComparison.OrdinalIgnoreCase))
        {
            return RangeRequest.Full;
        }

        ReadOnlySpan<char> set = field[(equals + 1)..];

        // First pass validates the whole field and counts, so nothing is allocated for a field that is ignored;
        // the common single-range request is finished here.
        int specs = 0;
        int satisfiable = 0;
        ByteRange first = default;
        ReadOnlySpan<char> rest = set;
        while (true)
        {
            Step step = NextSpec(ref rest, out RangeSpec spec);
            if (step == Step.End)
            {
                break;
            }

            if (step == Step.Invalid || ++specs > maxRanges)
            {
                return RangeRequest.Full;
            }

            if (TryResolve(spec, length, out ByteRange range) && satisfiable++ == 0)
            {
                first = range;
            }
        }

        // §14.1.1: range-set = 1#range-spec, so a set of only empty list elements is invalid.
        if (specs == 0)
        {
            return RangeRequest.Full;
        }

        if (satisfiable == 0)
        {
            return RangeRequest.Unsatisfiable;
        }

        if (satisfiable == 1)
        {
            return RangeRequest.One(first);
        }

        var ranges = new ByteRange[satisfiable];
        int count = 0;
        rest = set;
        while (NextSpec(ref rest, out RangeSpec spec) == Step.Spec)
        {
            if (TryResolve(spec, length, out ByteRange range))
            {
                ranges[count++] = range;
            }
        }

        return RangeRequest.Several(Coalesce(ranges));
    }

    private static ByteRange[] Coalesce(ByteRange[] ranges)
    {
        ranges.AsSpan().Sort(default(ByStart));
        int last = 0;
        for (int i = 1; i < ranges.Length; i++)
        {
            ByteRange current = ranges[last];
            ByteRange next = ranges[i];

            // Adjacent counts too: a second part would only add multipart overhead (§15.3.7.2 allows merging
            // gaps smaller than that). End + 1 cannot overflow because End < length <= long.MaxValue.
            if (next.Start <= current.End + 1)
            {
                long end = Math.Max(current.End, next.End);
                ranges[last] = new ByteRange(current.Start, end - current.Start + 1);
            }
            else
            {
                ranges[++last] = next;
            }
        }

        return last + 1 == ranges.Length ? ranges : ranges[..(last + 1)];
    }

    // §14.1.1: a satisfiable int-range has first-pos < length; a satisfiable suffix-range has a non-zero length.
    private static bool TryResolve(RangeSpec spec, long length, out ByteRange range)
    {
        range = default;
        if (length == 0)
        {
            return false;
        }

        if (spec.IsSuffix)
        {
            if (spec.Last == 0)
            {
                return false;
            }

            long start = spec.Last >= length ? 0 : length - spec.Last;
            range = new ByteRange(start, length - start);
            return true;
        }

        if (spec.First >= length)
        {
            return false;
        }

        long last = Math.Min(spec.Last, length - 1);
        range = new ByteRange(spec.First, last - spec.First + 1);
        return true;
    }

    // §5.6.1: list elements are separated by commas with optional whitespace, and empty elements are allowed.
    private static Step NextSpec(ref ReadOnlySpan<char> rest, out RangeSpec spec)
    {
        spec = default;
        while (true)
        {
            rest = rest.TrimStart(Ows);
            if (rest.IsEmpty)
            {
                return Step.End;
            }

            if (rest[0] != ',')
            {
                break;
            }

            rest = rest[1..];
        }

        int comma = rest.IndexOf(',');
        ReadOnlySpan<char> element = comma < 0 ? rest : rest[..comma];
        rest = comma < 0 ? default : rest[comma..];
        return TryParseSpec(element.TrimEnd(Ows), out spec) ? Step.Spec : Step.Invalid;
    }

    // int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length (§14.1.1).
    private static bool TryParseSpec(ReadOnlySpan<char> element, out RangeSpec spec)
    {
        spec = default;
        if (element[0] == '-')
        {
            if (!TryParseDigits(element[1..], out long suffix))
            {
                return false;
            }

            spec = new RangeSpec(0, suffix, IsSuffix: true);
            return true;
        }

        int dash = element.IndexOf('-');
        ReadOnlySpan<char> head = dash < 0 ? default : element[..dash];
        if (dash < 0 || !TryParseDigits(head, out long first))
        {
            return false;
        }

        ReadOnlySpan<char> tail = element[(dash + 1)..];
        long last = long.MaxValue;

        // §14.1.1: an int-range whose last-pos is less than its first-pos is invalid. Two positions past
        // long.MaxValue both saturate, so those are compared by their digits.
        if (!tail.IsEmpty && (!TryParseDigits(tail, out last) || last < first || (first == long.MaxValue && IsLess(tail, head))))
        {
            return false;
        }

        spec = new RangeSpec(first, last, IsSuffix: false);
        return true;
    }

    // 1*DIGIT. §14.1.2 gives a meaning to positions of any size ("greater than or equal to the current length"), so
    // a value past long.MaxValue saturates to it: no representation is that long, which clamps a last-pos or a
    // suffix-length to the end and leaves a first-pos unsatisfiable, as the RFC asks of any number that large.
    private static bool TryParseDigits(ReadOnlySpan<char> digits, out long value)
    {
        value = 0;
        if (digits.IsEmpty)
        {
            return false;
        }

        foreach (char c in digits)
        {
            int digit = c - '0';
            if ((uint)digit > 9)
            {
                return false;
            }

            value = value > (long.MaxValue - digit) / 10 ? long.MaxValue : (value * 10) + digit;
        }

        return true;
    }

    // Whether the decimal digits a stand for a smaller number than b, for numbers too large for a long.
    private static bool IsLess(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        a = a.TrimStart('0');
        b = b.TrimStart('0');
        return a.Length != b.Length ? a.Length < b.Length : a.SequenceCompareTo(b) < 0;
    }

    private enum Step
    {
        Spec,
        End,
        Invalid,
    }

    // For a suffix-range, Last holds the suffix-length; an open int-range has Last = long.MaxValue.
    private readonly record struct RangeSpec(long First, long Last, bool IsSuffix);

    private readonly struct ByStart : IComparer<ByteRange>
    {
        public int Compare(ByteRange x, ByteRange y) => x.Start.CompareTo(y.Start);
    }
}
