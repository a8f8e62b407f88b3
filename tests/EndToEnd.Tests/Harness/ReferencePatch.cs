using System.Text;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Harness;

/// <summary>
/// What a machine must receive (DESIGN invariant 1): the upstream ISO with every occurrence of the magic string
/// replaced by the machine's kernel parameters padded with spaces to the magic string's length, and nothing else
/// changed. Computed on the whole image in memory, independently of the gateway's chunked overlay.
/// </summary>
public static class ReferencePatch
{
    /// <summary>The patched copy of <paramref name="upstream"/> for <paramref name="kernelParams"/>.</summary>
    public static byte[] Apply(ReadOnlySpan<byte> upstream, string magic, string kernelParams)
    {
        ArgumentException.ThrowIfNullOrEmpty(magic);
        ArgumentNullException.ThrowIfNull(kernelParams);
        if (kernelParams.Length > magic.Length)
        {
            throw new ArgumentException($"{kernelParams.Length} bytes of parameters do not fit a {magic.Length}-byte magic string.", nameof(kernelParams));
        }

        var padded = Encoding.ASCII.GetBytes(Pad(kernelParams, magic));
        var patched = upstream.ToArray();
        foreach (var occurrence in IsoImageBuilder.FindAll(upstream, Encoding.ASCII.GetBytes(magic)))
        {
            padded.CopyTo(patched, occurrence);
        }

        return patched;
    }

    /// <summary>The parameters as they appear in the image: space-padded to the magic string's length.</summary>
    public static string Pad(string kernelParams, string magic) => kernelParams.PadRight(magic.Length, ' ');

    /// <summary>The offset of the first byte where <paramref name="actual"/> and <paramref name="expected"/> differ, or -1.</summary>
    public static long FirstDifference(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected)
    {
        var common = actual.CommonPrefixLength(expected);
        return common == actual.Length && common == expected.Length ? -1 : common;
    }
}
