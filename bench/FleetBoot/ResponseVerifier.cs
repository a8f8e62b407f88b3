using System.Globalization;
using System.Text;

namespace IsoCluster.FleetBoot;

/// <summary>
/// Checks the bodies one client receives against the source ISO. Unpatched (the upstream itself), every byte must
/// equal the source. Patched (the gateway, for <see cref="Machine"/>), every byte outside the magic string's
/// occurrences must equal the source, and the bytes at each occurrence are collected across responses, so an
/// occurrence split over two requests is checked whole once the boot is over (<see cref="CheckPatches"/>).
/// </summary>
internal sealed class ResponseVerifier
{
    private readonly SourceImage _source;
    private readonly byte[][] _patches;
    private readonly int[] _seen;
    private readonly long _readLength;

    /// <summary>
    /// A verifier for a boot of <paramref name="machine"/>, or of the unpatched ISO when null, that reads the first
    /// <paramref name="readLength"/> bytes.
    /// </summary>
    public ResponseVerifier(SourceImage source, FleetMachine? machine, long readLength)
    {
        _source = source;
        _readLength = readLength;
        Machine = machine;
        _patches = [.. source.Occurrences.Select(_ => new byte[SourceImage.Magic.Length])];
        _seen = new int[source.Occurrences.Length];
    }

    /// <summary>The machine whose patch is expected, or null for the unpatched ISO.</summary>
    public FleetMachine? Machine { get; }

    /// <summary>Checks <paramref name="body"/>, served for ISO offset <paramref name="offset"/>; null when it is right.</summary>
    public string? Check(long offset, ReadOnlySpan<byte> body)
    {
        ReadOnlySpan<byte> expected = _source.Bytes.AsSpan((int)offset, body.Length);
        if (Machine is null)
        {
            return Compare(offset, body, expected);
        }

        var magicLength = SourceImage.Magic.Length;
        var cursor = 0;
        for (var i = 0; i < _source.Occurrences.Length; i++)
        {
            var relative = _source.Occurrences[i] - offset;
            var from = (int)Math.Clamp(relative, 0, body.Length);
            var to = (int)Math.Clamp(relative + magicLength, 0, body.Length);
            if (from >= to)
            {
                continue;
            }

            if (Compare(offset + cursor, body[cursor..from], expected[cursor..from]) is { } problem)
            {
                return problem;
            }

            body[from..to].CopyTo(_patches[i].AsSpan((int)(from - relative)));
            _seen[i] += to - from;
            cursor = to;
        }

        return Compare(offset + cursor, body[cursor..], expected[cursor..]);
    }

    /// <summary>
    /// After a whole boot: every occurrence was served in full as the machine's kernel parameters (facility first,
    /// its VLAN and <c>worker_id=MAC</c> present), padded with spaces, and identically at every occurrence. A boot that
    /// reads only the ISO's start checks the occurrences inside what it read; one cut by the end of the read must be a
    /// printable start of the same kernel parameters.
    /// </summary>
    public IEnumerable<string> CheckPatches()
    {
        if (Machine is not { } machine)
        {
            yield break;
        }

        var full = -1;
        for (var i = 0; i < _patches.Length; i++)
        {
            var at = _source.Occurrences[i];
            var expected = (int)Math.Clamp(_readLength - at, 0, SourceImage.Magic.Length);
            if (expected == 0)
            {
                continue;
            }

            if (_seen[i] != expected)
            {
                yield return $"{machine.Mac}: occurrence at {at}: {_seen[i]} of {expected} bytes were served";
                continue;
            }

            var text = Encoding.ASCII.GetString(_patches[i], 0, expected);
            var line = text.TrimEnd(' ');
            var tokens = line.Split(' ');
            var prefix = $"facility={machine.Facility} ";
            if (line.Any(c => c is < ' ' or > '~'))
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"{machine.Mac}: occurrence at {at}: unexpected patch '{Shorten(line)}'");
            }
            else if (expected < SourceImage.Magic.Length)
            {
                // Cut by the end of the read: its start must be the machine's, and agree with a whole occurrence.
                var agrees = full < 0 || _patches[i].AsSpan(0, expected).SequenceEqual(_patches[full].AsSpan(0, expected));
                if (!(line.StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(line, StringComparison.Ordinal)) || !agrees)
                {
                    yield return string.Create(CultureInfo.InvariantCulture, $"{machine.Mac}: occurrence at {at} (first {expected} bytes): unexpected patch '{Shorten(line)}'");
                }
            }
            else if (!line.StartsWith(prefix, StringComparison.Ordinal)
                || !tokens.Contains($"vlan_id={machine.VlanId}")
                || !tokens.Contains($"worker_id={machine.Mac}"))
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"{machine.Mac}: occurrence at {at}: unexpected patch '{Shorten(line)}'");
            }
            else if (full >= 0 && !_patches[i].AsSpan().SequenceEqual(_patches[full]))
            {
                yield return $"{machine.Mac}: occurrence at {at} differs from the one at {_source.Occurrences[full]}";
            }
            else
            {
                full = full < 0 ? i : full;
            }
        }
    }

    private static string? Compare(long offset, ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected)
    {
        var same = actual.CommonPrefixLength(expected);
        return same == actual.Length
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"byte {offset + same} differs from the source");
    }

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..120] + "...";
}
