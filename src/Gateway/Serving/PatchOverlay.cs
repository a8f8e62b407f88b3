using System.Buffers;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// A machine's kernel parameters padded with spaces to the magic string's length, laid over the upstream bytes
/// wherever the magic string occurs (DESIGN invariants 1 and 2).
/// </summary>
internal sealed class PatchOverlay
{
    private readonly byte[] _padded;

    private PatchOverlay(byte[] padded) => _padded = padded;

    /// <summary>The length of the magic string, and so of every patched run.</summary>
    public int Length => _padded.Length;

    /// <summary>Pads <paramref name="kernelParams"/>; returns null when they do not fit in <paramref name="magicLength"/> bytes.</summary>
    public static PatchOverlay? TryCreate(ReadOnlySpan<byte> kernelParams, int magicLength)
    {
        if (kernelParams.Length > magicLength)
        {
            return null;
        }

        var padded = new byte[magicLength];
        kernelParams.CopyTo(padded);
        padded.AsSpan(kernelParams.Length).Fill((byte)' ');
        return new PatchOverlay(padded);
    }

    /// <summary>
    /// Writes <paramref name="data"/> (upstream bytes starting at ISO offset <paramref name="dataOffset"/>) to
    /// <paramref name="writer"/> with the patch in place of every occurrence in <paramref name="occurrenceStarts"/>
    /// (ascending absolute offsets), including occurrences that begin before or end after <paramref name="data"/>.
    /// </summary>
    public void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> data, long dataOffset, ReadOnlySpan<long> occurrenceStarts)
    {
        var cursor = 0;
        foreach (var occurrence in occurrenceStarts)
        {
            var relativeStart = occurrence - dataOffset;
            var from = (int)Math.Clamp(relativeStart, 0, data.Length);
            var to = (int)Math.Clamp(relativeStart + _padded.Length, 0, data.Length);
            if (from >= to || from < cursor)
            {
                continue;
            }

            writer.Write(data[cursor..from]);
            writer.Write(_padded.AsSpan((int)(from - relativeStart), to - from));
            cursor = to;
        }

        writer.Write(data[cursor..]);
    }
}
