namespace IsoCluster.Grains.SourceIso;

/// <summary>Finds the magic string in a window of ISO bytes.</summary>
public static class MagicStringScanner
{
    /// <summary>
    /// Absolute offsets of occurrences in <paramref name="window"/> (which starts at ISO offset
    /// <paramref name="windowStart"/>) that overlap the range [<paramref name="rangeStart"/>, <paramref name="rangeEnd"/>).
    /// </summary>
    /// <remarks>
    /// The magic string is validated at start not to overlap itself, so occurrences never overlap and scanning any
    /// window that covers an occurrence finds exactly the occurrences a whole-ISO scan would.
    /// </remarks>
    public static long[] FindOverlapping(ReadOnlySpan<byte> window, long windowStart, ReadOnlySpan<byte> magic, long rangeStart, long rangeEnd)
    {
        List<long>? found = null;
        var position = 0;
        while (position <= window.Length - magic.Length)
        {
            var index = window[position..].IndexOf(magic);
            if (index < 0)
            {
                break;
            }

            var start = windowStart + position + index;
            if (start < rangeEnd && start + magic.Length > rangeStart)
            {
                (found ??= []).Add(start);
            }

            position += index + magic.Length;
        }

        return found is null ? [] : [.. found];
    }

    /// <summary>Whether a proper prefix of <paramref name="magic"/> equals a suffix of it (so occurrences could overlap).</summary>
    public static bool OverlapsItself(ReadOnlySpan<byte> magic)
    {
        for (var length = 1; length < magic.Length; length++)
        {
            if (magic[..length].SequenceEqual(magic[^length..]))
            {
                return true;
            }
        }

        return false;
    }
}
