using System.Collections.Concurrent;

namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// A chunk's bytes in an array lent by a <see cref="ChunkBufferPool"/>, counted by reference: the cache holds one
/// reference, and so does every reader until its copy is written. The array goes back to the pool when the last
/// reference is released, and never sooner, so no reader can see another chunk's bytes written over the ones it holds.
/// </summary>
/// <remarks>
/// Chunk buffers are about a megabyte, so fresh arrays would land on the large-object heap, which only a full
/// collection frees: with a cache smaller than what a fleet reads at random, nearly every read fetched a chunk and the
/// process grew to several times its cache. A reference that is never released costs nothing but its array's return to
/// the pool (the garbage collector then frees it), so a holder that cannot tell when it is done simply keeps it.
/// </remarks>
public sealed class ChunkBuffer
{
    private readonly ChunkBufferPool? _pool;
    private byte[]? _array;
    private int _references = 1;

    internal ChunkBuffer(byte[] array, ChunkBufferPool? pool)
    {
        _array = array;
        _pool = pool;
    }

    /// <summary>The bytes; valid only while the caller holds a reference.</summary>
    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(ChunkBuffer), "the chunk buffer went back to its pool");

    /// <summary>
    /// Takes one more reference, unless the last one was already released (the array may then hold another chunk):
    /// false means the bytes are gone and must be read again.
    /// </summary>
    public bool TryRetain()
    {
        var references = Volatile.Read(ref _references);
        while (references > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, references + 1, references);
            if (seen == references)
            {
                return true;
            }

            references = seen;
        }

        return false;
    }

    /// <summary>Gives back one reference; the last one returns the array to its pool.</summary>
    /// <exception cref="InvalidOperationException">More references were released than taken (a bug that could expose another chunk's bytes).</exception>
    public void Release()
    {
        var references = Interlocked.Decrement(ref _references);
        if (references > 0)
        {
            return;
        }

        if (references < 0)
        {
            throw new InvalidOperationException("A chunk buffer was released more often than it was retained.");
        }

        var array = _array!;
        _array = null;
        _pool?.Return(array);
    }
}

/// <summary>
/// Arrays for chunk buffers, all of one length (a chunk and the margins read around it), kept for reuse up to a bound.
/// A request for more than that length gets an array of its own that is never pooled.
/// </summary>
public sealed class ChunkBufferPool
{
    private readonly ConcurrentQueue<byte[]> _free = new();
    private readonly int _maxFree;
    private int _freeCount;

    /// <summary>Creates a pool of <paramref name="arrayLength"/>-byte arrays that keeps at most <paramref name="maxFree"/> idle.</summary>
    public ChunkBufferPool(int arrayLength, int maxFree)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(arrayLength);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFree);
        ArrayLength = arrayLength;
        _maxFree = maxFree;
    }

    /// <summary>The length of every pooled array.</summary>
    public int ArrayLength { get; }

    /// <summary>Idle arrays held for reuse.</summary>
    public int FreeCount => Volatile.Read(ref _freeCount);

    /// <summary>A buffer of at least <paramref name="length"/> bytes holding one reference, the caller's.</summary>
    public ChunkBuffer Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > ArrayLength)
        {
            return new ChunkBuffer(GC.AllocateUninitializedArray<byte>(length), pool: null);
        }

        if (_free.TryDequeue(out var array))
        {
            Interlocked.Decrement(ref _freeCount);
            return new ChunkBuffer(array, this);
        }

        return new ChunkBuffer(GC.AllocateUninitializedArray<byte>(ArrayLength), this);
    }

    internal void Return(byte[] array)
    {
        if (Interlocked.Increment(ref _freeCount) <= _maxFree)
        {
            _free.Enqueue(array);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }
}

/// <summary>
/// Buffers for chunk bytes that arrive in a grain message from another process (a gateway reading from a remote silo),
/// so that each arriving chunk does not cost a fresh large-object-heap array.
/// </summary>
/// <remarks>
/// One pool, its arrays as long as the longest chunk received so far: a cluster's chunks all have one length but an
/// ISO's last, which is shorter. Idle arrays are not bounded beyond that: every idle array was live once, and what a
/// gateway holds live is bounded by its chunk cache, its fetches in flight and the requests writing from them.
/// </remarks>
public sealed class ReceivedChunkBuffers
{
    private ChunkBufferPool? _pool;

    /// <summary>A buffer of at least <paramref name="length"/> bytes holding one reference, the caller's.</summary>
    public ChunkBuffer Rent(int length)
    {
        var pool = Volatile.Read(ref _pool);
        while (pool is null || pool.ArrayLength < length)
        {
            // The first chunk, or longer chunks than before: arrays of the old pool still out are dropped as they return.
            var longer = new ChunkBufferPool(length, maxFree: int.MaxValue);
            var seen = Interlocked.CompareExchange(ref _pool, longer, pool);
            pool = seen == pool ? longer : seen;
        }

        return pool.Rent(length);
    }
}
