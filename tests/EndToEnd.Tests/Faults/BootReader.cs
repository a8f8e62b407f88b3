using System.Diagnostics;
using System.Net;
using System.Text;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>One range read by a <see cref="BootReader"/>.</summary>
/// <param name="Probe">What was asked for.</param>
/// <param name="Status">The status, or 0 when the connection ended short of the promised body.</param>
/// <param name="ETag">The response's ETag.</param>
/// <param name="Versions">
/// For a 206: which versions' bytes the body is, one bit per index into the reader's versions (a range may read the same
/// in two versions); 0 for none: wrong bytes.
/// </param>
/// <param name="Detail">For a failure: the one-line reason, or what broke.</param>
/// <param name="Elapsed">From sending the request to the whole body or the failure.</param>
/// <param name="RetryAfter">The response's Retry-After, if any.</param>
public sealed record FaultRead(RangeProbe Probe, int Status, string? ETag, int Versions, string Detail, TimeSpan Elapsed, string? RetryAfter = null)
{
    /// <summary>Whether the body is version <paramref name="index"/>'s bytes.</summary>
    public bool Is(int index) => (Versions & (1 << index)) != 0;

    /// <summary>Whether the body is version <paramref name="index"/>'s bytes and no other's.</summary>
    public bool IsOnly(int index) => Versions == 1 << index;

    public override string ToString() => $"{Probe}: {(Status == 0 ? "cut short" : Status)} {(Versions != 0 ? $"versions {Versions:b}" : "")} {Detail} ({Elapsed.TotalMilliseconds:0} ms)".TrimEnd();
}

/// <summary>
/// Reads a machine's ISO as a BMC does, range after range, and checks every byte of every 206 against each version the
/// upstream may have served (each already patched for the machine): a body that is none of them whole is wrong bytes;
/// a boot (the reads between two failures that end it) whose bodies come from two versions, or one ETag carrying two
/// versions, is a mixed boot. Nothing is asserted here; tests assert on the tallies and show <see cref="Describe"/>.
/// </summary>
public sealed class BootReader(HttpClient client, string path, params byte[][] versions)
{
    private readonly List<FaultRead> _reads = [];
    private readonly Dictionary<string, int> _etagVersions = new(StringComparer.Ordinal);
    private int _bootVersions = -1;

    /// <summary>Every read so far, in order.</summary>
    public IReadOnlyList<FaultRead> Reads => _reads;

    /// <summary>206 responses whose body is no version's bytes for the range.</summary>
    public int WrongBytes { get; private set; }

    /// <summary>Reads that brought a second version into a boot, or a second version under one ETag.</summary>
    public int MixedVersions { get; private set; }

    /// <summary>How many reads got each status (0: cut short).</summary>
    public IReadOnlyDictionary<int, int> Statuses => _reads.GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>The statuses seen, as "206×24, 503×1".</summary>
    public string StatusSummary => string.Join(", ", Statuses.OrderBy(s => s.Key).Select(s => $"{(s.Key == 0 ? "cut" : s.Key)}×{s.Value}"));

    /// <summary>Reads [<paramref name="from"/>, <paramref name="to"/>) in ranges of <paramref name="size"/> bytes, in order.</summary>
    public async Task ReadSpanAsync(long from, long to, int size)
    {
        for (var offset = from; offset < to; offset += size)
        {
            await ReadAsync(offset, Math.Min(size, to - offset));
        }
    }

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="start"/> and checks them.</summary>
    public async Task<FaultRead> ReadAsync(long start, long length)
    {
        var probe = RangeProbe.Closed(start, start + length - 1, versions[0].Length);
        var clock = Stopwatch.StartNew();
        FaultRead read;
        try
        {
            using var response = await IsoResponses.GetRangeAsync(client, path, probe.Header);
            var body = await response.Content.ReadAsByteArrayAsync();
            var etag = response.Headers.ETag?.ToString();
            read = response.StatusCode == HttpStatusCode.PartialContent
                ? new FaultRead(probe, 206, etag, VersionsOf(response, body, probe), "", clock.Elapsed)
                : new FaultRead(probe, (int)response.StatusCode, etag, 0, Encoding.UTF8.GetString(body).TrimEnd('\n'), clock.Elapsed, response.Headers.RetryAfter?.ToString());
        }
        catch (HttpRequestException ex)
        {
            // Headers were out when the gateway met a failure it could not hide: the connection ends short.
            read = new FaultRead(probe, 0, null, 0, ex.Message, clock.Elapsed);
        }

        Tally(read);
        return read;
    }

    /// <summary>Every read, one per line, for assertion messages.</summary>
    public string Describe() => $"{StatusSummary}; wrong bytes {WrongBytes}, mixed {MixedVersions}\n" + string.Join('\n', _reads);

    private int VersionsOf(HttpResponseMessage response, byte[] body, RangeProbe probe)
    {
        var matches = 0;
        for (var v = 0; v < versions.Length; v++)
        {
            var version = versions[v];
            if (response.Content.Headers.ContentRange?.ToString() == probe.ContentRange(version.Length)
                && body.Length == probe.Length
                && body.AsSpan().SequenceEqual(version.AsSpan((int)probe.Start, (int)probe.Length)))
            {
                matches |= 1 << v;
            }
        }

        return matches;
    }

    // A boot (and an ETag) must be explainable by one version: the versions every one of its bodies could be.
    private void Tally(FaultRead read)
    {
        _reads.Add(read);
        if (read.Status == 206)
        {
            if (read.Versions == 0)
            {
                WrongBytes++;
                return;
            }

            _bootVersions &= read.Versions;
            if (_bootVersions == 0)
            {
                MixedVersions++;
                _bootVersions = read.Versions;
            }

            if (read.ETag is { } etag)
            {
                var tagged = _etagVersions.TryGetValue(etag, out var seen) ? seen & read.Versions : read.Versions;
                if (tagged == 0)
                {
                    MixedVersions++;
                    tagged = read.Versions;
                }

                _etagVersions[etag] = tagged;
            }
        }
        else if (read.Status == 0 || (read.Status == 503 && read.Detail.Contains("changed", StringComparison.Ordinal)))
        {
            // The gateway ended the boot: the next read may start a new one on another version.
            _bootVersions = -1;
        }
    }
}
