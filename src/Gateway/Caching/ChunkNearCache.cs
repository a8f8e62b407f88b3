using System.Collections.Concurrent;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.Admin;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Options;

namespace IsoCluster.Gateway.Caching;

/// <summary>
/// The gateway's bounded cache of whole chunks, keyed by ISO version and chunk index. Chunk bytes of a version never
/// change, so a cached chunk is served without asking the cluster again; hot chunks stay on the gateways, where the
/// BMCs' connections land, instead of crossing from one silo for every read of a hall.
/// </summary>
/// <remarks>
/// <para>
/// One fetch per chunk per gateway at a time: concurrent misses wait on the same grain read (its own deadline, never
/// cancelled by one reader leaving), so the cluster sees one read per gateway however many BMCs ask. A failed read is
/// not kept; its waiters get its answer and the next request tries again.
/// </para>
/// <para>
/// At most <see cref="GatewayOptions.MaxChunkFetches"/> fetches are in flight to the cluster; the rest wait their turn.
/// A chunk crossing from a silo sits whole in both processes' network buffers until it has arrived, so without a bound
/// a few hundred BMCs missing the cache at once made both processes hold a few hundred megabytes in flight.
/// </para>
/// <para>
/// Least recently read chunks are dropped beyond <see cref="GatewayOptions.CacheSize"/>. The bytes are in pooled
/// buffers: in embedded mode the silo cache's own (an in-process call passes them by reference), so a chunk cached in
/// both places is held once; from a remote silo one this process read the message into
/// (<see cref="ReceivedChunkBuffers"/>). An entry holds a reference to its buffer (<see cref="ChunkReadResult.Lease"/>)
/// and every reader gets one of its own, so a dropped chunk's bytes stay put for readers still writing them.
/// </para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "A SemaphoreSlim holds nothing to dispose unless its AvailableWaitHandle is used, which it is not here.")]
internal sealed class ChunkNearCache : IGatewayChunkCache
{
    private static readonly Func<ChunkRead, CancellationToken, ValueTask<ChunkReadResult>> ReadChunk =
        static (read, cancellationToken) => read.Grain.ReadAsync(read.Version, 0, read.Length, cancellationToken);

    private readonly ConcurrentDictionary<ChunkId, Entry> _entries = new();
    // Guards the byte count against entries removed while their fetch completes; taken on fetches and evictions only.
    private readonly Lock _lock = new();
    private readonly IGrainFactory _grains;
    private readonly ClusterCallPolicy _calls;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly long _capacity;
    // Chunk reads in flight to the cluster (GatewayOptions.MaxChunkFetches); waiters are let in first come, first served.
    private readonly SemaphoreSlim _fetchSlots;
    private long _usedBytes;

    public ChunkNearCache(IGrainFactory grains, ClusterCallPolicy calls, GatewayMetrics metrics, TimeProvider time, IOptions<GatewayOptions> options)
    {
        _grains = grains;
        _calls = calls;
        _metrics = metrics;
        _time = time;
        _capacity = options.Value.CacheSize.Bytes;
        _fetchSlots = new SemaphoreSlim(options.Value.MaxChunkFetches);
        metrics.ObserveNearCache(this);
    }

    /// <summary>Bytes of chunks held now.</summary>
    public long UsedBytes => Volatile.Read(ref _usedBytes);

    /// <summary>Chunks held or being fetched now.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// The whole of chunk <paramref name="index"/> of <paramref name="version"/>: at once when cached, else from the
    /// one fetch this gateway makes of it, waited for until <paramref name="deadline"/> or the client leaves. The
    /// result's <see cref="ChunkReadResult.Lease"/>, when it has one, was taken for the caller, who releases it once the
    /// bytes are copied.
    /// </summary>
    /// <exception cref="TimeoutException">The deadline passed before the fetch answered.</exception>
    /// <exception cref="ClusterCallException">The fetch ran out of retries.</exception>
    public ValueTask<ChunkReadResult> GetAsync(IsoVersion version, long index, string mac, long deadline, CancellationToken aborted)
    {
        if (_entries.TryGetValue(new ChunkId(version.Id, index), out var entry))
        {
            var fetch = entry.Completion.Task;
            if (fetch.IsCompletedSuccessfully)
            {
                if (TryLend(fetch.Result))
                {
                    entry.LastRead = _time.GetTimestamp();
                    _metrics.NearCacheHit();
                    return new ValueTask<ChunkReadResult>(fetch.Result);
                }

                // Dropped while we looked, and its buffer already went back to the silo's pool.
                _metrics.NearCacheMiss();
                return new ValueTask<ChunkReadResult>(ReadUncachedAsync(version, index, mac, deadline, aborted));
            }

            _metrics.NearCacheCoalesced();
            return WaitAsync(fetch, version, index, mac, deadline, aborted);
        }

        return WaitAsync(StartFetch(version, index, mac), version, index, mac, deadline, aborted);
    }

    /// <summary>
    /// Starts fetching chunk <paramref name="index"/> unless it is cached, being fetched, or past the end, or the cache is
    /// too small to keep it until it is read.
    /// </summary>
    public void Prefetch(IsoVersion version, long index, string mac)
    {
        if (_capacity >= 2L * version.ChunkSize && index < version.ChunkCount && !_entries.ContainsKey(new ChunkId(version.Id, index)))
        {
            // Nobody waits on a read-ahead; its failure is seen (and retried) by the reader that gets there.
            StartFetch(version, index, mac).ContinueWith(
                static fetch => _ = fetch.Exception,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    /// <summary>Drops every chunk of a version the upstream has moved on from.</summary>
    public void ForgetVersion(string versionId)
    {
        foreach (var (id, entry) in _entries)
        {
            if (id.VersionId == versionId)
            {
                Remove(id, entry);
            }
        }
    }

    /// <summary>
    /// Drops every chunk of the source ISO whose URL is <paramref name="sourceUrl"/>, of every version (an admin purge),
    /// giving back each entry's reference to its buffer as an eviction does.
    /// </summary>
    /// <returns>How many held chunks were dropped, and their bytes.</returns>
    public (int Chunks, long Bytes) Purge(string sourceUrl)
    {
        ArgumentNullException.ThrowIfNull(sourceUrl);
        var chunks = 0;
        var bytes = 0L;
        foreach (var (id, entry) in _entries)
        {
            // An entry still being fetched is dropped too (its fetch then gives its reference back itself), but only a
            // held chunk counts: it is what the purge took out of memory.
            if (string.Equals(entry.SourceUrl, sourceUrl, StringComparison.Ordinal) && Remove(id, entry) is > 0 and var removed)
            {
                chunks++;
                bytes += removed;
            }
        }

        return (chunks, bytes);
    }

    private ValueTask<ChunkReadResult> WaitAsync(Task<ChunkReadResult> fetch, IsoVersion version, long index, string mac, long deadline, CancellationToken aborted)
    {
        var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
        if (remaining <= TimeSpan.Zero)
        {
            throw new TimeoutException("the deadline passed before the chunk arrived");
        }

        return new ValueTask<ChunkReadResult>(LendAsync(fetch.WaitAsync(remaining, _time, aborted), version, index, mac, deadline, aborted));
    }

    private async Task<ChunkReadResult> LendAsync(Task<ChunkReadResult> fetch, IsoVersion version, long index, string mac, long deadline, CancellationToken aborted)
    {
        var result = await fetch;
        if (TryLend(result))
        {
            return result;
        }

        // A cache smaller than a chunk, or a version forgotten in flight: the entry was dropped, and the last reference
        // to its buffer with it, before this waiter ran. Its own read gets it a reference of its own.
        return await ReadUncachedAsync(version, index, mac, deadline, aborted);
    }

    // Takes a reference to a held result's buffer for one reader; false once the buffer went back to its pool.
    private static bool TryLend(ChunkReadResult result) => result.Lease is not { } lease || lease.TryRetain();

    private Task<ChunkReadResult> ReadUncachedAsync(IsoVersion version, long index, string mac, long deadline, CancellationToken aborted)
    {
        var key = version.ChunkKey(index);
        var read = new ChunkRead(_grains.GetGrain<IIsoChunkGrain>(key), version, ChunkLength(version, index));
        return _calls.CallAsync(ReadChunk, read, ClusterCallKind.ChunkRead, mac, key, deadline, aborted).AsTask();
    }

    private static int ChunkLength(IsoVersion version, long index) =>
        (int)Math.Min(version.ChunkSize, version.Length - (index * version.ChunkSize));

    private Task<ChunkReadResult> StartFetch(IsoVersion version, long index, string mac)
    {
        var id = new ChunkId(version.Id, index);
        var entry = new Entry(version.Source.Url);
        var winner = _entries.GetOrAdd(id, entry);
        if (winner != entry)
        {
            _metrics.NearCacheCoalesced();
            return winner.Completion.Task;
        }

        _metrics.NearCacheMiss();
        _ = FetchAsync(id, entry, version, index, mac);
        return entry.Completion.Task;
    }

    private async Task FetchAsync(ChunkId id, Entry entry, IsoVersion version, long index, string mac)
    {
        try
        {
            var length = ChunkLength(version, index);
            var key = version.ChunkKey(index);
            var read = new ChunkRead(_grains.GetGrain<IIsoChunkGrain>(key), version, length);
            var deadline = _calls.StartDeadline();
            if (!await _fetchSlots.WaitAsync(_time.GetElapsedTime(_time.GetTimestamp(), deadline)))
            {
                throw new TimeoutException("the deadline passed while the chunk read waited for one of this gateway's fetch slots");
            }

            ChunkReadResult result;
            try
            {
                result = await _calls.CallAsync(ReadChunk, read, ClusterCallKind.ChunkRead, mac, key, deadline, CancellationToken.None);
            }
            finally
            {
                _fetchSlots.Release();
            }

            if (result.Status == UpstreamStatus.Ok && result.Data.Length != length)
            {
                result.Lease?.Release();
                result = new ChunkReadResult(UpstreamStatus.BadResponse, ReadOnlyMemory<byte>.Empty, [], $"chunk grain {key} returned {result.Data.Length} bytes, not {length}");
            }

            if (result.Status != UpstreamStatus.Ok)
            {
                // Not kept: the next reader asks again. Removed before the waiters hear, so none of them finds it.
                _entries.TryRemove(new KeyValuePair<ChunkId, Entry>(id, entry));
                entry.Completion.SetResult(result);
                return;
            }

            entry.LastRead = _time.GetTimestamp();
            var held = false;
            lock (_lock)
            {
                // A version forgotten while its chunk was in flight is not counted: nothing holds it any more.
                if (_entries.TryGetValue(id, out var current) && current == entry)
                {
                    entry.Bytes = length;
                    entry.Lease = result.Lease;
                    _usedBytes += length;
                    held = true;
                }
            }

            // Evicting first (even this chunk, when the cache is that small) costs the waiters little: they get the
            // result itself, and one whose buffer is gone by then reads the chunk for itself; a reader arriving after
            // them finds the cache already within its size.
            EvictBeyondCapacity();
            entry.Completion.SetResult(result);
            if (!held)
            {
                result.Lease?.Release();
            }
        }
        catch (Exception ex)
        {
            _entries.TryRemove(new KeyValuePair<ChunkId, Entry>(id, entry));
            entry.Completion.SetException(ex);
        }
    }

    private void EvictBeyondCapacity()
    {
        if (Volatile.Read(ref _usedBytes) <= _capacity)
        {
            return;
        }

        lock (_lock)
        {
            if (Volatile.Read(ref _usedBytes) <= _capacity)
            {
                return;
            }

            // Runs only when a fetched chunk overflows the cache, so sorting a snapshot of a few hundred entries is fine.
            var held = new List<KeyValuePair<ChunkId, Entry>>(_entries.Count);
            foreach (var pair in _entries)
            {
                if (pair.Value.Bytes > 0)
                {
                    held.Add(pair);
                }
            }

            held.Sort(static (a, b) => a.Value.LastRead.CompareTo(b.Value.LastRead));
            foreach (var (id, entry) in held)
            {
                if (Volatile.Read(ref _usedBytes) <= _capacity)
                {
                    break;
                }

                Remove(id, entry);
            }
        }
    }

    // Returns the bytes the entry held: 0 when another removal got there first or its fetch was still in flight.
    private long Remove(ChunkId id, Entry entry)
    {
        lock (_lock)
        {
            if (_entries.TryRemove(new KeyValuePair<ChunkId, Entry>(id, entry)))
            {
                _usedBytes -= entry.Bytes;
                entry.Lease?.Release();
                return entry.Bytes;
            }

            return 0;
        }
    }

    private readonly record struct ChunkId(string VersionId, long Index);

    private readonly record struct ChunkRead(IIsoChunkGrain Grain, IsoVersion Version, int Length);

    private sealed class Entry(string sourceUrl)
    {
        public string SourceUrl { get; } = sourceUrl;

        // Continuations run elsewhere: the fetch completing must not run every waiting request's body write inline.
        public TaskCompletionSource<ChunkReadResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Set once, before the chunk counts as held; 0 while the fetch is in flight.
        public long Bytes { get; set; }

        public long LastRead { get; set; }

        // The entry's reference to the chunk's pooled buffer, set with Bytes; given back when it is dropped.
        public ChunkBuffer? Lease { get; set; }
    }
}
