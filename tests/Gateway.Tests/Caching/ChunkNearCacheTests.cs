using System.Text;
using IsoCluster.Gateway.Serving;
using IsoCluster.Gateway.Tests.Serving;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Tests.Caching;

/// <summary>
/// The gateway's chunk cache: one grain read per chunk however many readers miss it at once (DESIGN invariant 4 at
/// the gateway), failures never kept, memory within its size with the least recently read chunk dropped first.
/// </summary>
public sealed class ChunkNearCacheTests
{
    private const int ChunkSize = FakeChunks.ChunkSize;
    private const string Mac = "b4:96:91:6e:2c:10";

    private static readonly IsoVersion Version = new(
        new IsoSource("http://upstream.test/hook.iso", IsoSourceOrigin.Operator), "v1", 100, "\"e\"", null, ChunkSize, 6, true);

    private static readonly byte[] Upstream = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 100).Select(i => (char)('a' + (i % 26)))));

    [Fact]
    public async Task GetAsync_ManyReadersMissOneChunkAtOnce_OneGrainReadServesThemAll()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        chunks.DelayNext(2, TimeSpan.FromMilliseconds(100));
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);

        var reads = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => cache.GetAsync(Version, 2, Mac, Deadline(harness), CancellationToken.None).AsTask()));

        Assert.Equal(1, chunks.Attempts(2));
        Assert.All(reads, read => Assert.Equal(Upstream.AsSpan(2 * ChunkSize, ChunkSize).ToArray(), read.Data.ToArray()));
        Assert.Equal(19, harness.Count("isocluster.gateway.cache.reads") - harness.CountTagged("isocluster.cache.result", "miss"));
    }

    [Fact]
    public async Task GetAsync_MoreMissesThanFetchSlots_AtMostThatManyGrainReadsAtOnceAndEveryReaderGetsItsChunk()
    {
        // Each chunk in flight from a remote silo sits whole in both processes' network buffers.
        var chunks = new FakeChunks(Upstream, [], 6);
        for (var index = 0; index < 6; index++)
        {
            chunks.DelayNext(index, TimeSpan.FromMilliseconds(100));
        }

        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024, maxFetches: 2);

        var reads = await Task.WhenAll(Enumerable.Range(0, 6).Select(index => cache.GetAsync(Version, index, Mac, Deadline(harness), CancellationToken.None).AsTask()));

        Assert.InRange(chunks.MostInFlight, 1, 2);
        for (var index = 0; index < 6; index++)
        {
            Assert.Equal(Upstream.AsSpan(index * ChunkSize, Math.Min(ChunkSize, Upstream.Length - (index * ChunkSize))).ToArray(), reads[index].Data.ToArray());
        }
    }

    [Fact]
    public async Task GetAsync_ChunkCached_AnswersAtOnceWithoutAnotherGrainRead()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);
        await cache.GetAsync(Version, 1, Mac, Deadline(harness), CancellationToken.None);

        var again = cache.GetAsync(Version, 1, Mac, Deadline(harness), CancellationToken.None);

        Assert.True(again.IsCompletedSuccessfully);
        Assert.Equal(Upstream.AsSpan(ChunkSize, ChunkSize).ToArray(), (await again).Data.ToArray());
        Assert.Equal(1, chunks.Attempts(1));
        Assert.Equal(ChunkSize, cache.UsedBytes);
    }

    [Fact]
    public async Task GetAsync_ReadRanOutOfRetries_IsNotKeptAndTheNextReaderTriesAgain()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        chunks.FailNext(0, new SiloUnavailableException("gone"));
        chunks.FailNext(0, new SiloUnavailableException("still gone"));
        using var harness = new ClusterCallHarness(new ClusterCallOptions { MaxAttempts = 2, BaseBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(2) });
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);

        await Assert.ThrowsAsync<ClusterCallException>(async () => await cache.GetAsync(Version, 0, Mac, Deadline(harness), CancellationToken.None));
        var second = await cache.GetAsync(Version, 0, Mac, Deadline(harness), CancellationToken.None);

        Assert.Equal(Upstream.AsSpan(0, ChunkSize).ToArray(), second.Data.ToArray());
        Assert.Equal(3, chunks.Attempts(0));
    }

    [Fact]
    public async Task GetAsync_GrainAnswersWithAFailureStatus_EveryWaiterGetsItAndNothingIsKept()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        chunks.AnswerNext(3, UpstreamStatus.VersionChanged);
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);

        var failed = await cache.GetAsync(Version, 3, Mac, Deadline(harness), CancellationToken.None);
        var next = await cache.GetAsync(Version, 3, Mac, Deadline(harness), CancellationToken.None);

        Assert.Equal(UpstreamStatus.VersionChanged, failed.Status);
        Assert.Equal(UpstreamStatus.Ok, next.Status);
        Assert.Equal(2, chunks.Attempts(3));
        Assert.Equal(ChunkSize, cache.UsedBytes);
    }

    [Fact]
    public async Task GetAsync_BeyondCapacity_DropsTheLeastRecentlyReadChunk()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 2 * ChunkSize);

        await cache.GetAsync(Version, 0, Mac, Deadline(harness), CancellationToken.None);
        await cache.GetAsync(Version, 1, Mac, Deadline(harness), CancellationToken.None);
        await cache.GetAsync(Version, 0, Mac, Deadline(harness), CancellationToken.None);
        await cache.GetAsync(Version, 2, Mac, Deadline(harness), CancellationToken.None);
        Assert.Equal(2 * ChunkSize, cache.UsedBytes);

        await cache.GetAsync(Version, 0, Mac, Deadline(harness), CancellationToken.None);
        await cache.GetAsync(Version, 1, Mac, Deadline(harness), CancellationToken.None);

        Assert.Equal(1, chunks.Attempts(0));
        Assert.Equal(2, chunks.Attempts(1));
        Assert.True(cache.UsedBytes <= 2 * ChunkSize);
    }

    [Fact]
    public async Task GetAsync_NoCapacity_ServesTheReaderButKeepsNothing()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 0);

        var first = await cache.GetAsync(Version, 4, Mac, Deadline(harness), CancellationToken.None);
        await cache.GetAsync(Version, 4, Mac, Deadline(harness), CancellationToken.None);

        Assert.Equal(Upstream.AsSpan(4 * ChunkSize, ChunkSize).ToArray(), first.Data.ToArray());
        Assert.Equal(2, chunks.Attempts(4));
        Assert.Equal(0, cache.UsedBytes);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task ForgetVersion_DropsItsChunksAndTheirBytes()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);
        await cache.GetAsync(Version, 0, Mac, Deadline(harness), CancellationToken.None);
        await cache.GetAsync(Version, 1, Mac, Deadline(harness), CancellationToken.None);

        cache.ForgetVersion(Version.Id);
        await cache.GetAsync(Version, 0, Mac, Deadline(harness), CancellationToken.None);

        Assert.Equal(2, chunks.Attempts(0));
        Assert.Equal(ChunkSize, cache.UsedBytes);
    }

    [Fact]
    public async Task GetAsync_FetchOutlivesTheReadersDeadline_ReaderTimesOutAndTheChunkStillArrivesForTheNext()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        chunks.DelayNext(5, TimeSpan.FromMilliseconds(300));

        // Generous attempt and total times, so only the reader's own short deadline can run out, however busy the machine.
        using var harness = new ClusterCallHarness(new ClusterCallOptions { AttemptTimeout = TimeSpan.FromSeconds(20), TotalDeadline = TimeSpan.FromSeconds(30) });
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);
        var shortDeadline = harness.Time.GetTimestamp() + (harness.Time.TimestampFrequency / 20);

        await Assert.ThrowsAsync<TimeoutException>(async () => await cache.GetAsync(Version, 5, Mac, shortDeadline, CancellationToken.None));
        var later = await cache.GetAsync(Version, 5, Mac, Deadline(harness), CancellationToken.None);

        Assert.Equal(Upstream.AsSpan(5 * ChunkSize, ChunkSize).ToArray(), later.Data.ToArray());
        Assert.Equal(1, chunks.Attempts(5));
    }

    [Fact]
    public async Task Prefetch_ChunkReadLater_WasFetchedOnce()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);

        cache.Prefetch(Version, 3, Mac);
        var read = await cache.GetAsync(Version, 3, Mac, Deadline(harness), CancellationToken.None);
        cache.Prefetch(Version, 3, Mac);
        cache.Prefetch(Version, Version.ChunkCount, Mac);

        Assert.Equal(Upstream.AsSpan(3 * ChunkSize, ChunkSize).ToArray(), read.Data.ToArray());
        Assert.Equal(1, chunks.Attempts(3));
        Assert.Equal(0, chunks.Attempts(Version.ChunkCount));
    }

    [Fact]
    public async Task GetAsync_LastChunkShorterThanChunkSize_IsReadWhole()
    {
        var chunks = new FakeChunks(Upstream, [], 6);
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);

        var last = await cache.GetAsync(Version, 6, Mac, Deadline(harness), CancellationToken.None);

        Assert.Equal(Upstream.AsSpan(96).ToArray(), last.Data.ToArray());
    }

    [Fact]
    public async Task GetAsync_PooledChunkDroppedWhileAReaderHoldsIt_ItsBytesStayUntilTheReaderReleases()
    {
        var pool = new ChunkBufferPool(ChunkSize, maxFree: 16);
        var chunks = new FakeChunks(Upstream, [], 6) { Pool = pool };
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: ChunkSize);
        var held = await cache.GetAsync(Version, 0, Mac, Deadline(harness), CancellationToken.None);

        // Each read drops the chunk before it, and its buffer goes back to the pool for the next read.
        for (var pass = 0; pass < 3; pass++)
        {
            for (var index = 1; index < Version.ChunkCount; index++)
            {
                var other = await cache.GetAsync(Version, index, Mac, Deadline(harness), CancellationToken.None);
                other.Lease!.Release();
            }
        }

        Assert.Equal(Upstream.AsSpan(0, ChunkSize).ToArray(), held.Data.ToArray());
        Assert.Equal(2, chunks.StillHeld());
        held.Lease!.Release();
        Assert.Equal(1, chunks.StillHeld());
    }

    [Fact]
    public async Task GetAsync_CacheSmallerThanAChunkAndManyWaiters_EachGetsTheBytesAndEveryBufferIsReleased()
    {
        // The entry is dropped the moment its fetch lands, and its buffer with it, before the waiters run: each one then
        // reads the chunk for itself rather than use bytes that went back to the pool.
        var pool = new ChunkBufferPool(ChunkSize, maxFree: 64);
        var chunks = new FakeChunks(Upstream, [], 6) { Pool = pool };
        chunks.DelayNext(2, TimeSpan.FromMilliseconds(100));
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: ChunkSize - 1);

        var reads = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => cache.GetAsync(Version, 2, Mac, Deadline(harness), CancellationToken.None).AsTask()));

        Assert.All(reads, read => Assert.Equal(Upstream.AsSpan(2 * ChunkSize, ChunkSize).ToArray(), read.Data.ToArray()));
        Assert.All(reads, read => read.Lease!.Release());
        Assert.Equal(0, chunks.StillHeld());
        Assert.Equal(0, cache.UsedBytes);
    }

    [Fact]
    public async Task ForgetVersion_PooledChunksHeld_GivesEveryBufferBack()
    {
        var pool = new ChunkBufferPool(ChunkSize, maxFree: 16);
        var chunks = new FakeChunks(Upstream, [], 6) { Pool = pool };
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);
        for (var index = 0; index < Version.ChunkCount; index++)
        {
            (await cache.GetAsync(Version, index, Mac, Deadline(harness), CancellationToken.None)).Lease!.Release();
            (await cache.GetAsync(Version, index, Mac, Deadline(harness), CancellationToken.None)).Lease!.Release();
        }

        Assert.Equal((int)Version.ChunkCount, chunks.StillHeld());
        cache.ForgetVersion(Version.Id);

        Assert.Equal(0, chunks.StillHeld());
        Assert.Equal((int)Version.ChunkCount, pool.FreeCount);
    }

    [Fact]
    public async Task Purge_PooledChunksOfTheSourceHeld_GivesTheirBuffersBackAndKeepsOtherSources()
    {
        // Another version of the same URL goes too; another URL stays.
        var newer = Version with { Id = "v2" };
        var other = Version with { Source = new IsoSource("http://upstream.test/other.iso", IsoSourceOrigin.Operator), Id = "v3" };
        var pool = new ChunkBufferPool(ChunkSize, maxFree: 16);
        var chunks = new FakeChunks(Upstream, [], 6) { Pool = pool };
        using var harness = new ClusterCallHarness();
        var cache = FakeChunks.NearCache(chunks, harness, capacity: 1024);
        foreach (var version in new[] { Version, newer, other })
        {
            (await cache.GetAsync(version, 0, Mac, Deadline(harness), CancellationToken.None)).Lease!.Release();
        }

        var held = await cache.GetAsync(Version, 1, Mac, Deadline(harness), CancellationToken.None);
        Assert.Equal(4, chunks.StillHeld());

        var (purged, bytes) = cache.Purge(Version.Source.Url);

        Assert.Equal(3, purged);
        Assert.Equal(3L * ChunkSize, bytes);
        Assert.Equal(ChunkSize, cache.UsedBytes);
        Assert.Equal(1, cache.Count);

        // The reader still writing chunk 1 keeps its bytes until it is done.
        Assert.Equal(2, chunks.StillHeld());
        Assert.Equal(Upstream.AsMemory(ChunkSize, ChunkSize).ToArray(), held.Data.ToArray());
        held.Lease!.Release();
        Assert.Equal(1, chunks.StillHeld());
        Assert.Equal(3, pool.FreeCount);
    }

    private static long Deadline(ClusterCallHarness harness) => harness.Policy.StartDeadline();
}
