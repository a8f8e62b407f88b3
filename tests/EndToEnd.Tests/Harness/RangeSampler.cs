namespace IsoCluster.EndToEnd.Tests.Harness;

/// <summary>Range requests that exercise the patch overlay: hand-placed ones around every edge, and random ones.</summary>
public static class RangeSampler
{
    private const int BmcReadSize = 64 * 1024;

    /// <summary>
    /// Ranges around each magic-string occurrence (covering it, entering it, leaving it, 1-byte reads at its edges
    /// and inside it) and around each chunk boundary, plus the first and last bytes of the image.
    /// </summary>
    public static IReadOnlyList<RangeProbe> AroundEdges(long total, IReadOnlyList<long> occurrences, int magicLength, IEnumerable<long> chunkBoundaries)
    {
        ArgumentNullException.ThrowIfNull(occurrences);
        ArgumentNullException.ThrowIfNull(chunkBoundaries);
        var probes = new List<RangeProbe>();
        void Add(long first, long last)
        {
            first = Math.Clamp(first, 0, total - 1);
            last = Math.Clamp(last, first, total - 1);
            probes.Add(RangeProbe.Closed(first, last, total));
        }

        foreach (var start in occurrences)
        {
            var end = start + magicLength;
            Add(start, end - 1);
            Add(start - 1, end);
            Add(start - 4096, end + 4096);
            foreach (var cut in new[] { 1, 2, magicLength / 2, magicLength - 1 })
            {
                Add(start - 100, start + cut - 1);
                Add(start + cut, end + 100);
                Add(start + cut, start + cut + 9);
            }

            // 1-byte reads at and around both edges, and every 97th byte in between.
            var singles = new SortedSet<long> { -2, -1, 0, 1, 2 };
            for (var k = magicLength - 3L; k <= magicLength + 1; k++)
            {
                singles.Add(k);
            }

            for (var k = 97L; k < magicLength; k += 97)
            {
                singles.Add(k);
            }

            foreach (var k in singles)
            {
                Add(start + k, start + k);
            }

            // BMC-sized reads whose own boundary falls inside the occurrence.
            Add(start + 10 - BmcReadSize, start + 9);
            Add(start + 10, start + 9 + BmcReadSize);
        }

        foreach (var boundary in chunkBoundaries)
        {
            Add(boundary - 1, boundary - 1);
            Add(boundary, boundary);
            Add(boundary - 1, boundary);
            Add(boundary - magicLength, boundary + magicLength);
            Add(boundary - BmcReadSize, boundary + BmcReadSize - 1);
            Add(boundary - BootIsoImage.ChunkSize - 1, boundary + BootIsoImage.ChunkSize);
        }

        Add(0, 0);
        Add(0, total - 1);
        Add(total - 1, total - 1);
        probes.Add(RangeProbe.Suffix(1, total));
        probes.Add(RangeProbe.Suffix(total + 1000, total));
        probes.Add(RangeProbe.Open(total - 100, total));
        probes.Add(RangeProbe.Closed(total - 10, total + 1_000_000, total));
        return probes;
    }

    /// <summary>
    /// <paramref name="count"/> random ranges: mostly 64 KiB-ish as BMC HTTPFS clients read, some tiny, some of a
    /// few hundred KiB and a few of several MiB; a third aligned to 4 KiB; a few suffix, open and clamped forms.
    /// </summary>
    public static IReadOnlyList<RangeProbe> Random(Random random, long total, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        var probes = new List<RangeProbe>(count);
        for (var i = 0; i < count; i++)
        {
            var size = Math.Min(total, RandomSize(random, total));
            var start = random.NextInt64(0, total - size + 1);
            if (random.Next(3) == 0)
            {
                start -= start % 4096;
            }

            probes.Add(random.Next(40) switch
            {
                0 => RangeProbe.Suffix(size, total),
                1 => RangeProbe.Open(total - size, total),
                2 => RangeProbe.Closed(start, start + size - 1 + random.Next(1, BmcReadSize), total),
                _ => RangeProbe.Closed(start, start + size - 1, total),
            });
        }

        return probes;
    }

    private static long RandomSize(Random random, long total)
    {
        var pick = random.NextDouble();
        if (pick < 0.15)
        {
            return random.Next(1, 513);
        }

        if (pick < 0.40)
        {
            return BmcReadSize;
        }

        if (pick < 0.86)
        {
            // Log-uniform from 4 KiB to 256 KiB: centred on the 64 KiB-ish reads of HTTPFS clients.
            return (long)Math.Exp(Math.Log(4096) + (random.NextDouble() * (Math.Log(256 * 1024) - Math.Log(4096))));
        }

        if (pick < 0.98)
        {
            return random.NextInt64(256 * 1024, BootIsoImage.ChunkSize + 1);
        }

        return random.NextInt64(BootIsoImage.ChunkSize, total + 1);
    }
}
