using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Tests.Cluster;

[Collection(GrainClusterDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class ChunkGrainTests(GrainClusterFixture fixture)
{
    private static readonly int s_margin = GrainClusterFixture.Magic.Length - 1;

    [Fact]
    public async Task ReadAsync_ConcurrentMissesOfOneChunk_FetchUpstreamOnce()
    {
        var name = "single-flight.iso";
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(4, seed: 2));
        var version = await fixture.VersionAsync(name);
        var chunk = fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(2));

        var reads = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => chunk.ReadAsync(version, i * 100, 1000).AsTask()));

        Assert.All(reads, read => Assert.Equal(UpstreamStatus.Ok, read.Status));
        var windowStart = (2 * GrainClusterFixture.ChunkSize) - s_margin;
        Assert.Single(fixture.Upstream.Requests, r => r.Path == $"/files/{name}" && r.Range == $"bytes={windowStart}-{windowStart + GrainClusterFixture.ChunkSize + (2 * s_margin) - 1}");
    }

    [Fact]
    public async Task ReadAsync_OneChunkStuckUpstream_OtherChunksAreStillServed()
    {
        var name = "stuck.iso";
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(4, seed: 3));
        var version = await fixture.VersionAsync(name);
        fixture.Upstream.Hold($"bytes={GrainClusterFixture.ChunkSize - s_margin}-");
        try
        {
            var stuck = fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(1)).ReadAsync(version, 0, 10).AsTask();
            var other = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(3)).ReadAsync(version, 0, 10);

            Assert.Equal(UpstreamStatus.Ok, other.Status);
            Assert.False(stuck.IsCompleted);
            fixture.Upstream.ReleaseHeld();
            Assert.Equal(UpstreamStatus.Ok, (await stuck).Status);
        }
        finally
        {
            fixture.Upstream.ReleaseHeld();
        }
    }

    [Fact]
    public async Task ReadAsync_OccurrenceAcrossChunkEdge_IsReportedByBothChunks()
    {
        var version = await fixture.VersionAsync("hook.iso");
        var edge = GrainClusterFixture.ChunkSize;

        var tail = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(0)).ReadAsync(version, edge - 4, 4);
        var head = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(1)).ReadAsync(version, 0, 4);
        var clear = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(1)).ReadAsync(version, 1000, 4);

        Assert.Equal([edge - 10L], tail.OccurrenceStarts);
        Assert.Equal([edge - 10L], head.OccurrenceStarts);
        Assert.Empty(clear.OccurrenceStarts);
        var image = GrainClusterFixture.Image(12, seed: 1);
        Assert.Equal(image.AsSpan(edge - 4, 4).ToArray(), tail.Data.ToArray());
        Assert.Equal(image.AsSpan(edge, 4).ToArray(), head.Data.ToArray());
    }

    [Fact]
    public async Task ReadAsync_MoreChunksThanCacheHolds_StaysWithinBudgetAndRefetches()
    {
        var name = "eviction.iso";
        const int chunks = 12;
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(chunks, seed: 4));
        var version = await fixture.VersionAsync(name);

        for (var pass = 0; pass < 2; pass++)
        {
            for (var i = 0; i < chunks; i++)
            {
                var read = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(i)).ReadAsync(version, 0, 16);
                Assert.Equal(UpstreamStatus.Ok, read.Status);
            }
        }

        var capacity = GrainClusterFixture.CacheChunks * (GrainClusterFixture.ChunkSize + (2 * GrainClusterFixture.Magic.Length));
        Assert.All(fixture.Budgets(), budget => Assert.InRange(budget.UsedBytes, 0, capacity));

        // Two silos hold at most 2 × 3 of the 12 chunks, so the second pass must fetch at least 6 again.
        var fetches = fixture.Upstream.Requests.Count(r => r.Path == $"/files/{name}" && r.Range != "bytes=0-0");
        Assert.InRange(fetches, chunks + chunks - (2 * GrainClusterFixture.CacheChunks), 2 * chunks);
    }

    // Issue 10's crash: a chunk fetched for one reader was evicted by another grain's admission before the reader
    // sliced it (500s and cut bodies). Here every chunk is evicted the moment it is admitted, so each read depends
    // on the bytes it fetched and nothing else.
    [Fact]
    public async Task ReadAsync_ChunkEvictedRightAfterItsFetch_StillReturnsTheFetchedBytes()
    {
        var name = "evicted-at-once.iso";
        var image = GrainClusterFixture.Image(4, seed: 9);
        fixture.Upstream.SetFile(name, image);
        var version = await fixture.VersionAsync(name);
        var budgets = fixture.Budgets().ToList();
        budgets.ForEach(budget => budget.Admitted = budget.Release);
        try
        {
            for (var index = 0; index < 4; index++)
            {
                for (var pass = 0; pass < 2; pass++)
                {
                    var read = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(index)).ReadAsync(version, 100, 5000);

                    Assert.Equal(UpstreamStatus.Ok, read.Status);
                    Assert.Equal(image.AsSpan((index * GrainClusterFixture.ChunkSize) + 100, 5000).ToArray(), read.Data.ToArray());
                }
            }
        }
        finally
        {
            budgets.ForEach(budget => budget.Admitted = null);
        }

        // Nothing stayed cached, so the second pass fetched every chunk again.
        Assert.Equal(8, fixture.Upstream.Requests.Count(r => r.Path == $"/files/{name}" && r.Range != "bytes=0-0"));
    }

    [Fact]
    public async Task ReadAsync_UpstreamChangedSinceVersion_ReportsVersionChangedNotNewBytes()
    {
        var name = "changing.iso";
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(4, seed: 5));
        var version = await fixture.VersionAsync(name);
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(4, seed: 6));

        var read = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(3)).ReadAsync(version, 0, 16);

        Assert.Equal(UpstreamStatus.VersionChanged, read.Status);
        Assert.True(read.Data.IsEmpty);

        var source = fixture.Grains.GetGrain<ISourceIsoGrain>(version.Source.GrainKey);
        await source.InvalidateAsync(version.Id);
        var next = await source.GetVersionAsync();
        Assert.NotEqual(version.Id, next.Version!.Id);
    }

    [Fact]
    public async Task ReadAsync_SourceWithQueryString_KeepsTheQueryOnEveryRequest()
    {
        // A presigned URL only works with its query; dropping it would turn every fetch into a 403 upstream.
        var name = "presigned.iso";
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(2, seed: 11));
        var source = new IsoSource(fixture.Upstream.Url(name) + "?X-Signature=abc%2F123&Expires=99", IsoSourceOrigin.Operator);
        var version = (await fixture.Grains.GetGrain<ISourceIsoGrain>(source.GrainKey).GetVersionAsync()).Version!;

        var read = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(1)).ReadAsync(version, 0, 8);

        Assert.Equal(UpstreamStatus.Ok, read.Status);
        var requests = fixture.Upstream.Requests.Where(r => r.Path == $"/files/{name}").ToList();
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal("?X-Signature=abc%2F123&Expires=99", r.Query));
    }

    [Fact]
    public async Task GetVersionAsync_UpstreamMissing_ReportsBadResponse()
    {
        var source = new IsoSource(fixture.Upstream.Url("missing.iso"), IsoSourceOrigin.Operator);
        var result = await fixture.Grains.GetGrain<ISourceIsoGrain>(source.GrainKey).GetVersionAsync();

        Assert.Equal(UpstreamStatus.BadResponse, result.Status);
        Assert.Contains("404", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetVersionAsync_NoRangeSupport_IsFlaggedAndServedCorrectly()
    {
        var name = "norange.iso";
        var image = GrainClusterFixture.Image(3, seed: 7);
        fixture.Upstream.SetFile(name, image);
        var source = new IsoSource(fixture.Upstream.Url(name, "norange"), IsoSourceOrigin.Operator);
        var version = (await fixture.Grains.GetGrain<ISourceIsoGrain>(source.GrainKey).GetVersionAsync()).Version!;

        var read = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(2)).ReadAsync(version, 5, 100);

        Assert.False(version.RangeSupported);
        Assert.Equal(image.AsSpan((2 * GrainClusterFixture.ChunkSize) + 5, 100).ToArray(), read.Data.ToArray());
    }
}
