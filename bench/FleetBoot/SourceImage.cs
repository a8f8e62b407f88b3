using System.Text;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.FleetBoot;

/// <summary>The upstream ISO held in memory, and where the magic string occurs in it.</summary>
internal sealed class SourceImage
{
    /// <summary>The placeholder every machine's kernel parameters replace: the gateway's default.</summary>
    public static readonly byte[] Magic = Encoding.ASCII.GetBytes(IsoOptions.HookOsMagicString);

    private SourceImage(byte[] bytes, long[] occurrences)
    {
        Bytes = bytes;
        Occurrences = occurrences;
    }

    /// <summary>Every byte of the file.</summary>
    public byte[] Bytes { get; }

    /// <summary>Ascending offsets of the magic string.</summary>
    public long[] Occurrences { get; }

    /// <summary>Reads <paramref name="path"/> and finds the magic string in it.</summary>
    public static SourceImage Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var occurrences = new List<long>();
        var position = 0;
        while (true)
        {
            var index = bytes.AsSpan(position).IndexOf(Magic);
            if (index < 0)
            {
                break;
            }

            occurrences.Add(position + index);
            position += index + Magic.Length;
        }

        return new SourceImage(bytes, [.. occurrences]);
    }

    /// <summary>
    /// Writes <paramref name="length"/> seeded random bytes to <paramref name="path"/> with the magic string at
    /// <paramref name="occurrences"/>.
    /// </summary>
    public static void Write(string path, long length, IReadOnlyList<long> occurrences)
    {
        const int BlockSize = 1024 * 1024;
        var random = new Random(20240601);
        var block = new byte[BlockSize];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, BlockSize);
        for (long blockStart = 0; blockStart < length; blockStart += BlockSize)
        {
            var size = (int)Math.Min(BlockSize, length - blockStart);
            random.NextBytes(block.AsSpan(0, size));
            foreach (var occurrence in occurrences)
            {
                // Copy the part of the occurrence that falls in this block (it may straddle two).
                var from = Math.Max(occurrence, blockStart);
                var to = Math.Min(occurrence + Magic.Length, blockStart + size);
                if (from < to)
                {
                    Magic.AsSpan((int)(from - occurrence), (int)(to - from)).CopyTo(block.AsSpan((int)(from - blockStart)));
                }
            }

            file.Write(block, 0, size);
        }
    }
}
