using System.Buffers;
using System.Text;
using IsoCluster.Gateway.Serving;

namespace IsoCluster.Gateway.Tests.Serving;

public sealed class PatchOverlayTests
{
    private const int MagicLength = 16;
    private static readonly byte[] s_params = Encoding.ASCII.GetBytes("k1=1 k2=2");

    [Fact]
    public void TryCreate_ParamsLongerThanMagic_ReturnsNull()
    {
        Assert.Null(PatchOverlay.TryCreate(new byte[MagicLength + 1], MagicLength));
    }

    [Fact]
    public void TryCreate_ParamsExactlyMagicLength_IsAccepted()
    {
        Assert.NotNull(PatchOverlay.TryCreate(new byte[MagicLength], MagicLength));
    }

    [Fact]
    public void Write_EveryWindowAroundOccurrences_EqualsReferencePatch()
    {
        // Two occurrences, one at the very start and one near the end, plus upstream bytes around them.
        var upstream = new byte[100];
        for (var i = 0; i < upstream.Length; i++)
        {
            upstream[i] = (byte)('a' + (i % 26));
        }

        long[] occurrences = [0, 70];
        var reference = Patched(upstream, occurrences);
        var overlay = PatchOverlay.TryCreate(s_params, MagicLength)!;

        // Every window [start, end): covers whole occurrences, parts of them, single bytes inside them, none.
        for (var start = 0; start < upstream.Length; start++)
        {
            for (var end = start; end <= upstream.Length; end++)
            {
                var writer = new ArrayBufferWriter<byte>();
                overlay.Write(writer, upstream.AsSpan(start, end - start), start, occurrences);
                Assert.True(
                    reference.AsSpan(start, end - start).SequenceEqual(writer.WrittenSpan),
                    $"window {start}-{end}");
            }
        }
    }

    [Fact]
    public void Write_NoOccurrences_CopiesUpstreamBytes()
    {
        var upstream = Encoding.ASCII.GetBytes("nothing to patch here");
        var writer = new ArrayBufferWriter<byte>();
        PatchOverlay.TryCreate(s_params, MagicLength)!.Write(writer, upstream, 1000, []);
        Assert.Equal(upstream, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Write_PatchIsPaddedWithSpaces()
    {
        var writer = new ArrayBufferWriter<byte>();
        PatchOverlay.TryCreate(s_params, MagicLength)!.Write(writer, new byte[MagicLength], 0, [0]);
        Assert.Equal("k1=1 k2=2       ", Encoding.ASCII.GetString(writer.WrittenSpan));
    }

    private static byte[] Patched(byte[] upstream, long[] occurrences)
    {
        var padded = new byte[MagicLength];
        Array.Fill(padded, (byte)' ');
        s_params.CopyTo(padded, 0);
        var result = (byte[])upstream.Clone();
        foreach (var occurrence in occurrences)
        {
            padded.CopyTo(result, (int)occurrence);
        }

        return result;
    }
}
