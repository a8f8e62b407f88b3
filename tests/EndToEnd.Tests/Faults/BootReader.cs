using System.Diagnostics;
using System.Net;
using System.Text;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>One range read by a <see cref="BootReader"/>.</summary>
/// <param name="Probe">What was asked for.</param>
/// <param name="Status">The status, or 0 when the connection ended short of the promised body.</param>
/// <param name="ETag">The response's ETag.</param>
/// <param name="Version">For a 206: which version's bytes the body is (an index into the reader's versions), or -1 for none.</param>
/// <param name="Detail">For a failure: the one-line reason, or what broke.</param>
/// <param name="Elapsed">From sending the request to the whole body or the failure.</param>
/// <param name="RetryAfter">The response's Retry-After, if any.</param>
public sealed record FaultRead(RangeProbe Probe, int Status, string? ETag, int Version, string Detail, TimeSpan Elapsed, string? RetryAfter = null)
{
    public override string ToString() => $"{Probe}: {(Status == 0 ? "cut short" : Status)} {(Version >= 0 ? $"v{Version + 1}" : "")} {Detail} ({Elapsed.TotalMilliseconds:0} ms)".TrimEnd();
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
    private int? _bootVersion;

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
                ? new FaultRead(probe, 206, etag, VersionOf(response, body, probe), "", clock.Elapsed)
                : new FaultRead(probe, (int)response.StatusCode, etag, -1, Encoding.UTF8.GetString(body).TrimEnd('\n'), clock.Elapsed, response.Headers.RetryAfter?.ToString());
        }
        catch (HttpRequestException ex)
        {
            // Headers were out when the gateway met a failure it could not hide: the connection ends short.
            read = new FaultRead(probe, 0, null, -1, ex.Message, clock.Elapsed);
        }

        Tally(read);
        return read;
    }

    /// <summary>Every read, one per line, for assertion messages.</summary>
    public string Describe() => $"{StatusSummary}; wrong bytes {WrongBytes}, mixed {MixedVersions}\n" + string.Join('\n', _reads);

    private int VersionOf(HttpResponseMessage response, byte[] body, RangeProbe probe)
    {
        for (var v = 0; v < versions.Length; v++)
        {
            var version = versions[v];
            if (response.Content.Headers.ContentRange?.ToString() == probe.ContentRange(version.Length)
                && body.Length == probe.Length
                && body.AsSpan().SequenceEqual(version.AsSpan((int)probe.Start, (int)probe.Length)))
            {
                return v;
            }
        }

        return -1;
    }

    private void Tally(FaultRead read)
    {
        _reads.Add(read);
        if (read.Status == 206)
        {
            if (read.Version < 0)
            {
                WrongBytes++;
                return;
            }

            if (_bootVersion is int boot && boot != read.Version)
            {
                MixedVersions++;
            }

            if (read.ETag is { } etag && _etagVersions.TryGetValue(etag, out var tagged) && tagged != read.Version)
            {
                MixedVersions++;
            }

            _bootVersion = read.Version;
            if (read.ETag is not null)
            {
                _etagVersions[read.ETag] = read.Version;
            }
        }
        else if (read.Status == 0 || (read.Status == 503 && read.Detail.Contains("changed", StringComparison.Ordinal)))
        {
            // The gateway ended the boot: the next read may start a new one on another version.
            _bootVersion = null;
        }
    }
}
