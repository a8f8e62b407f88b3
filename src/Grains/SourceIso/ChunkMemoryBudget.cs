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

    /// <summary>Bytes currently held.</summary>
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

    /// <summary>Bytes this silo may hold (<see cref="CacheOptions.Size"/>).</summary>
    public long CapacityBytes => _capacity;

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
    /// Drops every chunk of the source ISO whose URL is <paramref name="sourceUrl"/>, of every version and origin. Their
    /// grains find them evicted and fetch again on the next read, so a boot in progress reads on unharmed.
    /// </summary>
    /// <returns>How many chunks and bytes were dropped.</returns>
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
                if (node.Value.Source.Url == sourceUrl)
                {
                    chunks++;
                    bytes += node.Value.Bytes;
                    Remove(node.Value);
                }

                node = next;
            }
        }

        return (chunks, bytes);
    }

    /// <summary>What is held now, in total and by source ISO URL (its display form).</summary>
    public CacheContents Contents()
    {
        var bySource = new Dictionary<string, (int Chunks, long Bytes)>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var chunk in _recency)
            {
                var url = chunk.Source.DisplayUrl;
                var (chunks, bytes) = bySource.GetValueOrDefault(url);
                bySource[url] = (chunks + 1, bytes + chunk.Bytes);
            }

            return new CacheContents(_used, _recency.Count, _capacity, bySource);
        }
    }

    private void Remove(CachedChunk chunk)
    {
        _recency.Remove(chunk.Node);
        _used -= chunk.Bytes;
        chunk.Evict();
    }
}

/// <summary>One cached chunk buffer, owned by a chunk grain activation and accounted by <see cref="ChunkMemoryBudget"/>.</summary>
public sealed class CachedChunk
{
    private volatile byte[]? _buffer;

    /// <summary>Wraps <paramref name="buffer"/> whose bytes at <paramref name="dataOffset"/> are the chunk of <paramref name="source"/>.</summary>
    public CachedChunk(IsoSource source, byte[] buffer, int dataOffset, int dataLength, long[] occurrenceStarts)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(buffer);
        Source = source;
        _buffer = buffer;
        DataOffset = dataOffset;
        DataLength = dataLength;
        OccurrenceStarts = occurrenceStarts;
        Bytes = buffer.Length;
        Node = new LinkedListNode<CachedChunk>(this);
    }

    /// <summary>The source ISO the chunk is part of.</summary>
    public IsoSource Source { get; }

    /// <summary>Bytes charged to the budget.</summary>
    public long Bytes { get; }

    /// <summary>Absolute ISO offsets of magic-string occurrences overlapping the chunk.</summary>
    public long[] OccurrenceStarts { get; }

    /// <summary>The chunk's bytes, or empty once evicted.</summary>
    public ReadOnlyMemory<byte> Data => _buffer is { } buffer ? buffer.AsMemory(DataOffset, DataLength) : ReadOnlyMemory<byte>.Empty;

    /// <summary>Whether the bytes are still held.</summary>
    public bool IsEvicted => _buffer is null;

    internal int DataOffset { get; }

    internal int DataLength { get; }

    internal LinkedListNode<CachedChunk> Node { get; }

    // Readers already holding Data keep the array alive until they finish; the cache just stops referencing it.
    internal void Evict() => _buffer = null;
}

/// <summary>What one silo's chunk cache holds.</summary>
/// <param name="UsedBytes">Bytes held.</param>
/// <param name="Chunks">Chunks held.</param>
/// <param name="CapacityBytes">Bytes it may hold.</param>
/// <param name="BySource">Chunks and bytes held of each source ISO, by display URL.</param>
public sealed record CacheContents(long UsedBytes, int Chunks, long CapacityBytes, IReadOnlyDictionary<string, (int Chunks, long Bytes)> BySource);
