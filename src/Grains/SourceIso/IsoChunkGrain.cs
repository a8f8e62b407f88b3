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
    private readonly UpstreamClient _upstream;
    private readonly byte[] _magic;
    private readonly ChunkCacheMetrics _cacheMetrics;
    private readonly UpstreamMetrics _upstreamMetrics;
    private readonly long _index;
    private readonly TimeProvider _time;
    private CachedChunk? _chunk;
    private ChunkReadResult? _failure;
    private long _failedAt;

    public IsoChunkGrain(
        ChunkMemoryBudget budget,
        UpstreamClient upstream,
        IOptions<IsoOptions> options,
        ChunkCacheMetrics cacheMetrics,
        UpstreamMetrics upstreamMetrics,
        TimeProvider time)
    {
        _budget = budget;
        _upstream = upstream;
        _time = time;
        _magic = Encoding.ASCII.GetBytes(options.Value.MagicString);
        _cacheMetrics = cacheMetrics;
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

        var chunk = _chunk;
        var data = chunk?.Data ?? ReadOnlyMemory<byte>.Empty;
        if (chunk is null || data.Length != chunkLength || !_budget.Touch(chunk))
        {
            if (_failure is { } held && _time.GetElapsedTime(_failedAt) < FailureHold)
            {
                return held;
            }

            _cacheMetrics.Miss();

            // The fetch is shared by every queued reader, so one reader's cancellation must not abort it.
            var (fetched, fetchedData, failure) = await FetchAsync(version, chunkStart, chunkLength);
            if (fetched is null)
            {
                _failure = new ChunkReadResult(failure.Status, ReadOnlyMemory<byte>.Empty, [], failure.Reason);
                _failedAt = _time.GetTimestamp();
                return _failure;
            }

            _failure = null;

            // The bytes as fetched, not chunk.Data: another grain's admission may already have evicted the chunk,
            // and this reader must not depend on it staying cached.
            chunk = fetched;
            data = fetchedData;
        }
        else
        {
            _cacheMetrics.Hit();
        }

        var sliceStart = chunkStart + offset;
        return new ChunkReadResult(
            UpstreamStatus.Ok,
            data.Slice(offset, count),
            Overlapping(chunk.OccurrenceStarts, sliceStart, sliceStart + count, _magic.Length),
            null);
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

    private async Task<(CachedChunk? Chunk, ReadOnlyMemory<byte> Data, UpstreamRead Failure)> FetchAsync(IsoVersion version, long chunkStart, int chunkLength)
    {
        var margin = _magic.Length - 1;
        var windowStart = Math.Max(0, chunkStart - margin);
        var windowEnd = Math.Min(version.Length, chunkStart + chunkLength + margin);
        var window = GC.AllocateUninitializedArray<byte>((int)(windowEnd - windowStart));

        var measurement = _upstreamMetrics.Start(version.Source, UpstreamOperation.ChunkRead);
        var read = await _upstream.ReadAsync(version, windowStart, window, CancellationToken.None);
        _upstreamMetrics.Stop(measurement, read.Status, read.Status == UpstreamStatus.Ok ? window.Length : 0);
        if (read.Status != UpstreamStatus.Ok)
        {
            return (null, default, read);
        }

        var occurrences = MagicStringScanner.FindOverlapping(window, windowStart, _magic, chunkStart, chunkStart + chunkLength);
        if (_chunk is not null)
        {
            _budget.Release(_chunk);
        }

        _chunk = new CachedChunk(version.Source, window, (int)(chunkStart - windowStart), chunkLength, occurrences);
        var data = _chunk.Data;
        _budget.Admit(_chunk);
        return (_chunk, data, read);
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
}
