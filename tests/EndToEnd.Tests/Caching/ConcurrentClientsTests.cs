using System.Globalization;
using System.Net;
using IsoCluster.TestSupport;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Caching;

/// <summary>
/// DESIGN invariant 4: when a rack boots at once, each upstream chunk is fetched once; concurrent misses of the same
/// chunk wait on the one fetch instead of each going upstream (what melts Tinkerbell's pass-through proxy).
/// </summary>
[Collection(BootIsoDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class ConcurrentClientsTests(BootIsoFixture fixture)
{
    private const int Clients = 50;
    private const int ReadSize = 256 * 1024;

    [Fact]
    public async Task Get_FiftyClientsReadingWholeIsoAtOnce_FetchEachUpstreamChunkExactlyOnce()
    {
        // A fresh gateway (its own silo: nothing cached) and a file name no other test uses, so every upstream
        // request for it comes from this test. The long revalidation interval keeps the version probe to one.
        var isoName = $"fresh-{Guid.NewGuid():N}.iso";
        var image = fixture.Image;
        fixture.Upstream.SetFile(isoName, image.Bytes);
        await using var gateway = await fixture.StartGatewayAsync(isoName, "--iso-revalidate-interval", "01:00:00");

        // Released together so the first reads of every chunk really are concurrent misses.
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readers = Enumerable.Range(0, Clients)
            .Select(i => ReadSequentiallyAsync(gateway.CreateClient(), i % 2 == 0 ? TestMachines.Mac1 : TestMachines.Mac2, go.Task))
            .ToList();
        go.SetResult();
        var problems = (await Task.WhenAll(readers)).SelectMany(p => p).ToList();

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems.Take(20)));
        var requests = fixture.Upstream.Requests.Where(r => r.Path == "/files/" + isoName).ToList();
        Assert.All(requests, r => Assert.Equal(("GET", (int)HttpStatusCode.PartialContent), (r.Method, r.StatusCode)));
        Assert.Single(requests, r => r.Range == "bytes=0-0");

        // A fetch asks for its chunk plus magic-length-1 bytes on either side (to see straddling occurrences), so
        // its window starts just before the chunk's first byte: the chunk is the first boundary at or after it.
        // Not Except(): requests are records, and set operations would fold duplicate fetches into one.
        var fetches = requests.Where(r => r.Range != "bytes=0-0").Select(r => ParseRange(r.Range)).ToList();
        var chunkCount = (int)((image.Bytes.Length + BootIsoImage.ChunkSize - 1) / BootIsoImage.ChunkSize);
        var fetchesPerChunk = fetches
            .GroupBy(window => (int)((window.Start + BootIsoImage.ChunkSize - 1) / BootIsoImage.ChunkSize))
            .ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(Enumerable.Range(0, chunkCount).ToDictionary(i => i, _ => 1), fetchesPerChunk);
        Assert.All(fetches, window =>
        {
            var chunk = (window.Start + BootIsoImage.ChunkSize - 1) / BootIsoImage.ChunkSize;
            Assert.True(window.Start <= chunk * BootIsoImage.ChunkSize, $"window {window} starts inside chunk {chunk}");
            Assert.True(window.End >= Math.Min(image.Bytes.Length, (chunk + 1) * BootIsoImage.ChunkSize) - 1, $"window {window} ends before chunk {chunk} does");
        });
    }

    // One BMC: the whole ISO, front to back, in 256 KiB ranges, every one checked against the reference.
    private async Task<List<string>> ReadSequentiallyAsync(HttpClient client, string mac, Task go)
    {
        await go;
        var reference = fixture.Reference(mac);
        var problems = new List<string>();
        for (long offset = 0; offset < reference.Length; offset += ReadSize)
        {
            var probe = RangeProbe.Closed(offset, offset + ReadSize - 1, reference.Length);
            if (await IsoResponses.CheckRangeAsync(client, GatewayInstance.IsoPath(mac), probe, reference) is { } problem)
            {
                problems.Add(problem);
            }
        }

        return problems;
    }

    private static (long Start, long End) ParseRange(string? range)
    {
        Assert.NotNull(range);
        Assert.StartsWith("bytes=", range, StringComparison.Ordinal);
        var bounds = range["bytes=".Length..].Split('-');
        return (long.Parse(bounds[0], CultureInfo.InvariantCulture), long.Parse(bounds[1], CultureInfo.InvariantCulture));
    }
}
