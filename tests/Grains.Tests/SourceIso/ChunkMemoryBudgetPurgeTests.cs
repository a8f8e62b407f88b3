using System.Diagnostics.Metrics;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Tests.SourceIso;

/// <summary>
/// An admin purge of a silo's chunk cache: it drops exactly the named source's chunks, every version and origin, through
/// the same removal as an eviction, so the cache's reference to each buffer is given back once and a reader's own
/// reference keeps its bytes until it is released.
/// </summary>
public sealed class ChunkMemoryBudgetPurgeTests : IDisposable
{
    private const int ArrayLength = 64;
    private const string PurgedUrl = "http://isos.example/hook.iso";

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ChunkBufferPool _pool = new(ArrayLength, maxFree: 16);
    private readonly ChunkCacheLedger _ledger = new();
    private readonly ChunkMemoryBudget _budget;

    public ChunkMemoryBudgetPurgeTests()
    {
        var options = Options.Create(new CacheOptions { Size = new ByteSize(100 * ArrayLength) });
        _budget = new ChunkMemoryBudget(options, _services.GetRequiredService<IMeterFactory>());
    }

    public void Dispose() => _services.Dispose();

    [Fact]
    public void Purge_DropsEveryVersionAndOriginOfTheSource_AndNothingElse()
    {
        var operatorVersion = Version(PurgedUrl, IsoSourceOrigin.Operator, "v1");
        var clientVersion = Version(PurgedUrl, IsoSourceOrigin.Client, "v2");
        var other = Version("http://isos.example/other.iso", IsoSourceOrigin.Operator, "v3");
        var purged = new[] { Admit(operatorVersion), Admit(operatorVersion), Admit(clientVersion) };
        var kept = Admit(other);

        var (chunks, bytes) = _budget.Purge(PurgedUrl);

        Assert.Equal(3, chunks);
        Assert.Equal(3L * ArrayLength, bytes);
        Assert.All(purged, chunk => Assert.True(chunk.IsEvicted));
        Assert.False(kept.IsEvicted);
        Assert.Equal(1, _budget.Count);
        Assert.Equal(ArrayLength, _budget.UsedBytes);
        Assert.Equal(0, _ledger.AccountFor(operatorVersion).Chunks);
        Assert.Equal(0, _ledger.AccountFor(clientVersion).CachedBytes);
        Assert.Equal(1, _ledger.AccountFor(other).Chunks);
        Assert.Equal(3, _pool.FreeCount);
    }

    [Fact]
    public void Purge_WhileAReaderHoldsTheChunk_KeepsItsBytesUntilItReleases()
    {
        var chunk = Admit(Version(PurgedUrl, IsoSourceOrigin.Operator, "v1"));
        Assert.True(chunk.TryRetain(out var lease, out var data));

        _budget.Purge(PurgedUrl);
        var rented = Enumerable.Range(0, 4).Select(_ => _pool.Rent(ArrayLength)).ToList();
        rented.ForEach(buffer => buffer.Array.AsSpan().Fill(9));

        Assert.All(data.ToArray(), b => Assert.Equal(7, b));
        Assert.False(chunk.TryRetain(out _, out _));
        Assert.False(_budget.Touch(chunk));
        lease.Release();
        Assert.Equal(1, _pool.FreeCount);
    }

    [Fact]
    public void Purge_NothingOfTheSourceCached_DropsNothing()
    {
        var chunk = Admit(Version("http://isos.example/other.iso", IsoSourceOrigin.Operator, "v1"));

        Assert.Equal((0, 0L), _budget.Purge(PurgedUrl));
        Assert.False(chunk.IsEvicted);
        Assert.Equal(0, _pool.FreeCount);
    }

    private static IsoVersion Version(string url, IsoSourceOrigin origin, string id) =>
        new(new IsoSource(url, origin), id, 10 * 32, null, null, 32, 8, true);

    private CachedChunk Admit(IsoVersion version)
    {
        var buffer = _pool.Rent(ArrayLength);
        buffer.Array.AsSpan().Fill(7);
        var chunk = new CachedChunk(buffer, 7, 32, [], _ledger.AccountFor(version));
        _budget.Admit(chunk);
        return chunk;
    }
}
