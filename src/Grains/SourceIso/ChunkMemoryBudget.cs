using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// Holds this silo's cached chunks to <see cref="CacheOptions.Size"/> (DESIGN invariant 5): a least-recently-read
/// list over every chunk buffer of every chunk grain activation on the silo. Each silo has its own budget, so
/// cache capacity grows with the number of silos.
/// </summary>
public sealed class ChunkMemoryBudget
{
    private readonly long _capacity;
    private readonly LinkedList<CachedChunk> _recency = new();
    private readonly Lock _lock = new();
    private long _used;

    /// <summary>Creates the budget for this silo.</summary>
    public ChunkMemoryBudget(IOptions<CacheOptions> options, IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        _capacity = options.Value.Size.Bytes;
        var meter = meterFactory.Create(GrainsMetrics.MeterName);
        meter.CreateObservableGauge("isocluster.cache.bytes", () => UsedBytes, "By", "Bytes of upstream chunks cached on this silo.");
        meter.CreateObservableGauge("isocluster.cache.chunks", () => Count, "{chunk}", "Chunks cached on this silo.");
    }

    /// <summary>Bytes this silo may hold (<see cref="CacheOptions.Size"/>).</summary>
    public long CapacityBytes => _capacity;

    /// <summary>Bytes currently held, the margins fetched around each chunk included.</summary>
    public long UsedBytes
    {
        get
        {
            lock (_lock)
            {
                return _used;
            }
        }
    }

    /// <summary>Chunks currently held.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _recency.Count;
            }
        }
    }

    /// <summary>
    /// Called after every admission. Lets tests evict a chunk the moment it was admitted, as another grain's admission
    /// on another thread can, to pin that a reader never depends on its chunk staying cached (issue 10's crash).
    /// </summary>
    internal Action<CachedChunk>? Admitted { get; set; }

    /// <summary>Takes a freshly fetched chunk in, evicting the least recently read chunks beyond the capacity.</summary>
    public void Admit(CachedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        lock (_lock)
        {
            _recency.AddFirst(chunk.Node);
            _used += chunk.Bytes;
            chunk.Account.Admitted(chunk.DataLength);
            while (_used > _capacity && _recency.Last is { } oldest && oldest != chunk.Node)
            {
                Remove(oldest.Value);
            }
        }

        Admitted?.Invoke(chunk);
    }

    /// <summary>Marks a chunk as just read. Returns false when it was evicted and must be fetched again.</summary>
    public bool Touch(CachedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        lock (_lock)
        {
            if (chunk.Node.List is null)
            {
                return false;
            }

            _recency.Remove(chunk.Node);
            _recency.AddFirst(chunk.Node);
            return true;
        }
    }

    /// <summary>Lets go of a chunk whose grain is deactivating.</summary>
    public void Release(CachedChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        lock (_lock)
        {
            if (chunk.Node.List is not null)
            {
                Remove(chunk);
            }
        }
    }

    /// <summary>
    /// Drops every chunk of the source ISO whose URL is <paramref name="sourceUrl"/>, of every version and origin (an
    /// admin purge). Their grains find them evicted and fetch again on the next read, so a boot in progress reads on
    /// unharmed; readers holding a reference keep their bytes until they release it.
    /// </summary>
    /// <returns>How many chunks were dropped, and the bytes charged for them.</returns>
    public (int Chunks, long Bytes) Purge(string sourceUrl)
    {
        ArgumentNullException.ThrowIfNull(sourceUrl);
        var chunks = 0;
        var bytes = 0L;
        lock (_lock)
        {
            var node = _recency.First;
            while (node is not null)
            {
                var next = node.Next;
                var chunk = node.Value;
                if (string.Equals(chunk.Account.Version.Source.Url, sourceUrl, StringComparison.Ordinal))
                {
                    chunks++;
                    bytes += chunk.Bytes;
                    Remove(chunk);
                }

                node = next;
            }
        }

        return (chunks, bytes);
    }

    private void Remove(CachedChunk chunk)
    {
        _recency.Remove(chunk.Node);
        _used -= chunk.Bytes;
        chunk.Account.Removed(chunk.DataLength);
        chunk.Evict();
    }
}

/// <summary>
/// One cached chunk, owned by a chunk grain activation and accounted by <see cref="ChunkMemoryBudget"/>. It holds one
/// reference to its pooled buffer, given back when the chunk is evicted; readers take their own.
/// </summary>
public sealed class CachedChunk
{
    private ChunkBuffer? _buffer;

    /// <summary>
    /// Wraps <paramref name="buffer"/>, taking over the caller's reference, whose bytes at <paramref name="dataOffset"/>
    /// are the chunk, a chunk of the version <paramref name="account"/> accounts for.
    /// </summary>
    public CachedChunk(ChunkBuffer buffer, int dataOffset, int dataLength, long[] occurrenceStarts, VersionCacheAccount account)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(account);
        _buffer = buffer;
        Account = account;
        DataOffset = dataOffset;
        DataLength = dataLength;
        OccurrenceStarts = occurrenceStarts;
        Bytes = buffer.Array.Length;
        Node = new LinkedListNode<CachedChunk>(this);
    }

    /// <summary>Bytes charged to the budget.</summary>
    public long Bytes { get; }

    /// <summary>Absolute ISO offsets of magic-string occurrences overlapping the chunk.</summary>
    public long[] OccurrenceStarts { get; }

    /// <summary>Where the chunk's bytes are counted for the cache report while it is held.</summary>
    public VersionCacheAccount Account { get; }

    /// <summary>Whether the chunk's reference to its buffer was given back.</summary>
    public bool IsEvicted => Volatile.Read(ref _buffer) is null;

    internal int DataOffset { get; }

    internal int DataLength { get; }

    internal LinkedListNode<CachedChunk> Node { get; }

    /// <summary>
    /// The chunk's bytes with a reference taken for the caller (who releases it), or false once the chunk was evicted
    /// and its buffer may already hold another chunk.
    /// </summary>
    public bool TryRetain(out ChunkBuffer buffer, out ReadOnlyMemory<byte> data)
    {
        buffer = Volatile.Read(ref _buffer)!;
        if (buffer is not null && buffer.TryRetain())
        {
            data = buffer.Array.AsMemory(DataOffset, DataLength);
            return true;
        }

        data = default;
        return false;
    }

    // Readers holding their own reference keep the bytes until they release it; only the cache's reference goes here.
    internal void Evict() => Interlocked.Exchange(ref _buffer, null)?.Release();
}
