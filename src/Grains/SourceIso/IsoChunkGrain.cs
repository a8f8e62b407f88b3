using System.Globalization;
using System.Text;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// Caches one chunk of one ISO version. The grain is not reentrant on purpose: concurrent misses of the same
/// chunk queue behind the one upstream fetch (DESIGN invariant 4), while other chunks live in other activations
/// and are never blocked by it. Activations spread over the silos, and so does the cache memory.
/// </summary>
/// <remarks>
/// The fetch reads the chunk plus magic-length-minus-one bytes on either side, so that occurrences straddling
/// the chunk's edges are found without touching the neighbouring chunks.
/// <para>
/// Placed by a hash of the chunk key over the silos rather than by Orleans' default (resource-optimized since 9.2),
/// which put every chunk of a fleet boot on one silo when the silos looked equally idle: one silo's cache then holds
/// and serves everything. A hash spreads the chunks, and so the cache memory, evenly as silos are added.
/// </para>
/// </remarks>
[Orleans.Placement.HashBasedPlacementAttribute]
[CollectionAgeLimit(Hours = 6)]
internal sealed class IsoChunkGrain : Grain, IIsoChunkGrain
{
    // Readers queued behind a fetch that failed (a gateway's retry of a read that gave up waiting for it, other gateways'
    // reads of the chunk) run right after it. They get its outcome rather than each starting another round of upstream
    // retries against an upstream that has just failed them all, which would also outlast the gateway's deadline and
    // turn a clear 502 into a 504. A BMC's own retry comes later than this and fetches anew.
    private static readonly TimeSpan FailureHold = TimeSpan.FromSeconds(1);

    private readonly ChunkMemoryBudget _budget;
    private readonly ChunkBufferPool _buffers;
    private readonly UpstreamClient _upstream;
    private readonly byte[] _magic;
    private readonly ChunkCacheMetrics _cacheMetrics;
    private readonly ChunkCacheLedger _ledger;
    private readonly UpstreamMetrics _upstreamMetrics;
    private readonly long _index;
    private readonly TimeProvider _time;
    private CachedChunk? _chunk;
    private ChunkReadResult? _failure;
    private long _failedAt;

    public IsoChunkGrain(
        ChunkMemoryBudget budget,
        ChunkBufferPool buffers,
        UpstreamClient upstream,
        IOptions<IsoOptions> options,
        ChunkCacheMetrics cacheMetrics,
        ChunkCacheLedger ledger,
        UpstreamMetrics upstreamMetrics,
        TimeProvider time)
    {
        _budget = budget;
        _buffers = buffers;
        _upstream = upstream;
        _time = time;
        _magic = Encoding.ASCII.GetBytes(options.Value.MagicString);
        _cacheMetrics = cacheMetrics;
        _ledger = ledger;
        _upstreamMetrics = upstreamMetrics;
        var key = this.GetPrimaryKeyString();
        _index = long.Parse(key.AsSpan(key.LastIndexOf('/') + 1), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    public async ValueTask<ChunkReadResult> ReadAsync(IsoVersion version, int offset, int count, CancellationToken cancellationToken = default)
    {
        var chunkStart = _index * version.ChunkSize;
        var chunkLength = (int)Math.Min(version.ChunkSize, version.Length - chunkStart);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + (long)count, chunkLength, nameof(count));

        // Looked up on every read rather than kept: the ledger forgets accounts of versions no longer cached.
        var account = _ledger.AccountFor(version);
        var chunk = _chunk;
        ChunkBuffer lease;
        ReadOnlyMemory<byte> data;
        if (chunk is not null && chunk.DataLength == chunkLength && _budget.Touch(chunk) && chunk.TryRetain(out lease, out data))
        {
            _cacheMetrics.Hit();
            account.Hit();
        }
        else
        {
            if (_failure is { } held && _time.GetElapsedTime(_failedAt) < FailureHold)
            {
                return held;
            }

            _cacheMetrics.Miss();
            account.Miss();

            // The fetch is shared by every queued reader, so one reader's cancellation must not abort it.
            var fetch = await FetchAsync(version, chunkStart, chunkLength, account);
            if (fetch.Chunk is null)
            {
                _failure = new ChunkReadResult(fetch.Failure.Status, ReadOnlyMemory<byte>.Empty, [], fetch.Failure.Reason);
                _failedAt = _time.GetTimestamp();
                return _failure;
            }

            _failure = null;

            // The reader's reference was taken before the chunk was admitted: another grain's admission may evict it at
            // once, and this reader must not depend on it staying cached.
            chunk = fetch.Chunk;
            lease = fetch.Lease;
            data = fetch.Data;
        }

        var sliceStart = chunkStart + offset;
        return new ChunkReadResult(
            UpstreamStatus.Ok,
            data.Slice(offset, count),
            Overlapping(chunk.OccurrenceStarts, sliceStart, sliceStart + count, _magic.Length),
            null)
        {
            Lease = lease,
        };
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_chunk is not null)
        {
            _budget.Release(_chunk);
            _chunk = null;
        }

        return Task.CompletedTask;
    }

    private async Task<Fetch> FetchAsync(IsoVersion version, long chunkStart, int chunkLength, VersionCacheAccount account)
    {
        var margin = _magic.Length - 1;
        var windowStart = Math.Max(0, chunkStart - margin);
        var windowEnd = Math.Min(version.Length, chunkStart + chunkLength + margin);
        var windowLength = (int)(windowEnd - windowStart);

        // Rented once the fetch has an upstream slot: a miss queued behind others holds no megabyte while it waits.
        ChunkBuffer? buffer = null;
        var measurement = _upstreamMetrics.Start(version.Source, UpstreamOperation.ChunkRead);
        var read = await _upstream.ReadAsync(version, windowStart, windowLength, () => (buffer = _buffers.Rent(windowLength)).Array.AsMemory(0, windowLength), CancellationToken.None);
        _upstreamMetrics.Stop(measurement, read.Status, read.Status == UpstreamStatus.Ok ? windowLength : 0);
        if (read.Status != UpstreamStatus.Ok)
        {
            buffer?.Release();
            return new Fetch(null, null!, default, read);
        }

        var occurrences = MagicStringScanner.FindOverlapping(buffer!.Array.AsSpan(0, windowLength), windowStart, _magic, chunkStart, chunkStart + chunkLength);
        if (_chunk is not null)
        {
            _budget.Release(_chunk);
        }

        // The buffer's one reference becomes the cache's; the reader gets one of its own first.
        _chunk = new CachedChunk(buffer, (int)(chunkStart - windowStart), chunkLength, occurrences, account);
        _chunk.TryRetain(out var lease, out var data);
        _budget.Admit(_chunk);
        return new Fetch(_chunk, lease, data, read);
    }

    private static long[] Overlapping(long[] occurrences, long start, long end, int magicLength)
    {
        var count = 0;
        foreach (var occurrence in occurrences)
        {
            if (occurrence < end && occurrence + magicLength > start)
            {
                count++;
            }
        }

        if (count == occurrences.Length)
        {
            return occurrences;
        }

        var result = new long[count];
        count = 0;
        foreach (var occurrence in occurrences)
        {
            if (occurrence < end && occurrence + magicLength > start)
            {
                result[count++] = occurrence;
            }
        }

        return result;
    }

    private readonly record struct Fetch(CachedChunk? Chunk, ChunkBuffer Lease, ReadOnlyMemory<byte> Data, UpstreamRead Failure);
}
