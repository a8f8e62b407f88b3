using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Tests.SourceIso;

/// <summary>
/// Pooled chunk buffers (DESIGN invariant 1 under pooling): an array goes back to its pool only when the last reference
/// to it is released, so nothing is written over bytes a holder still has.
/// </summary>
public sealed class ChunkBufferTests
{
    [Fact]
    public void Release_LastReference_ReturnsTheArrayForTheNextRent()
    {
        var pool = new ChunkBufferPool(arrayLength: 64, maxFree: 4);
        var first = pool.Rent(40);
        var array = first.Array;

        first.Release();
        var second = pool.Rent(64);

        Assert.Same(array, second.Array);
        Assert.Equal(0, pool.FreeCount);
    }

    [Fact]
    public void Rent_WhileAnotherHolderKeepsTheBuffer_NeverHandsOutItsArray()
    {
        var pool = new ChunkBufferPool(arrayLength: 64, maxFree: 4);
        var cached = pool.Rent(64);
        cached.Array.AsSpan().Fill(7);
        Assert.True(cached.TryRetain());

        cached.Release();
        var others = Enumerable.Range(0, 8).Select(_ => pool.Rent(64)).ToList();
        others.ForEach(other => other.Array.AsSpan().Fill(9));

        Assert.All(others, other => Assert.NotSame(cached.Array, other.Array));
        Assert.All(cached.Array, b => Assert.Equal(7, b));
        cached.Release();
        Assert.Equal(1, pool.FreeCount);
    }

    [Fact]
    public void TryRetain_AfterTheLastRelease_FailsForGood()
    {
        var pool = new ChunkBufferPool(arrayLength: 64, maxFree: 4);
        var buffer = pool.Rent(64);

        buffer.Release();

        Assert.False(buffer.TryRetain());
        Assert.Throws<ObjectDisposedException>(() => buffer.Array);
        pool.Rent(64);
        Assert.False(buffer.TryRetain());
    }

    [Fact]
    public void Release_MoreOftenThanRetained_Throws()
    {
        var buffer = new ChunkBufferPool(arrayLength: 64, maxFree: 4).Rent(64);
        buffer.Release();

        Assert.Throws<InvalidOperationException>(buffer.Release);
    }

    [Fact]
    public void Release_PoolAlreadyHoldsItsMaximum_LetsTheArrayGo()
    {
        var pool = new ChunkBufferPool(arrayLength: 64, maxFree: 2);
        var buffers = Enumerable.Range(0, 5).Select(_ => pool.Rent(64)).ToList();

        buffers.ForEach(buffer => buffer.Release());

        Assert.Equal(2, pool.FreeCount);
    }

    [Fact]
    public void Rent_LongerThanThePoolsArrays_GetsAnArrayOfItsOwnThatIsNotPooled()
    {
        var pool = new ChunkBufferPool(arrayLength: 64, maxFree: 2);
        var large = pool.Rent(100);
        var length = large.Array.Length;

        large.Release();

        Assert.Equal(100, length);
        Assert.Equal(0, pool.FreeCount);
    }
}
