using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using IsoCluster.Gateway.BootReports;
using IsoCluster.Gateway.Caching;
using IsoCluster.Gateway.Ranges;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// Reads a byte range of one ISO version piece by piece along chunk boundaries, from the gateway's chunk cache (which
/// asks the cluster for what it lacks), and writes it patched. The next piece is asked for while the current one is
/// written, and a read reaching into a chunk's second half fetches the following chunk ahead, so a sequential reader
/// rarely waits for the cluster.
/// </summary>
/// <remarks>
/// Every chunk comes through <see cref="ChunkNearCache"/>, whose fetches go through <see cref="ClusterCallPolicy"/>: a
/// silo lost under a read costs a retry, not the read. A piece is written only once it is in hand, at the position it
/// was asked for, and the position moves on only after that, so every byte is written exactly once, in its place.
/// </remarks>
internal readonly struct IsoBodyReader
{
    private readonly ChunkNearCache _chunks;
    private readonly ClusterCallPolicy _calls;
    private readonly ServedPlan _plan;
    private readonly GatewayMetrics _metrics;
    private readonly CancellationToken _cancellationToken;
    private readonly MachineReads? _reads;

    public IsoBodyReader(ChunkNearCache chunks, ClusterCallPolicy calls, ServedPlan plan, GatewayMetrics metrics, CancellationToken cancellationToken, MachineReads? reads = null)
    {
        _chunks = chunks;
        _calls = calls;
        _plan = plan;
        _metrics = metrics;
        _cancellationToken = cancellationToken;
        _reads = reads;
    }

    /// <summary>
    /// Reads the first piece of <paramref name="range"/>, within <paramref name="deadline"/> (the request's, shared with
    /// the boot plan: nothing has been sent yet).
    /// </summary>
    public ValueTask<IsoPiece> ReadFirstAsync(ByteRange range, long deadline) =>
        ReadPieceAsync(range.Start, range.Start + range.Length, deadline);

    /// <summary>
    /// Writes <paramref name="range"/> to <paramref name="writer"/>, starting with <paramref name="firstPiece"/> when the
    /// caller already has it from <see cref="ReadFirstAsync"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<IsoPiece> WriteAsync(PipeWriter writer, ByteRange range, IsoPiece? firstPiece)
    {
        var position = range.Start;
        var end = range.Start + range.Length;
        var pending = firstPiece is { } first ? new ValueTask<IsoPiece>(first) : ReadPieceAsync(position, end, _calls.StartDeadline());
        while (position < end)
        {
            var piece = await pending;
            if (piece.Status != UpstreamStatus.Ok)
            {
                return piece;
            }

            var next = position + piece.Data.Length;
            if (next < end)
            {
                // Its own deadline: the headers are out, so the clock that matters is the BMC's wait for the next bytes.
                pending = ReadPieceAsync(next, end, _calls.StartDeadline());
            }

            _plan.Overlay.Write(writer, piece.Data.Span, position, piece.OccurrenceStarts);

            // Copied into the response: the chunk's buffer may go back to its pool.
            piece.Lease?.Release();
            _metrics.BytesServed(piece.Data.Length);
            _reads?.Served(position, piece.Data.Length);
            var flushed = await writer.FlushAsync(_cancellationToken);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                throw new OperationCanceledException("The client stopped reading.");
            }

            position = next;
        }

        return IsoPiece.Done;
    }

    private ValueTask<IsoPiece> ReadPieceAsync(long position, long end, long deadline)
    {
        var version = _plan.Version;
        var chunkSize = version.ChunkSize;
        var index = position / chunkSize;
        var offset = (int)(position - (index * chunkSize));
        var count = (int)Math.Min(end - position, chunkSize - offset);
        if (offset + count > chunkSize / 2)
        {
            _chunks.Prefetch(version, index + 1, _plan.Mac);
        }

        var chunk = _chunks.GetAsync(version, index, _plan.Mac, deadline, _cancellationToken);
        return chunk.IsCompletedSuccessfully
            ? new ValueTask<IsoPiece>(IsoPiece.Slice(chunk.Result, offset, count))
            : SliceAsync(chunk, offset, count);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<IsoPiece> SliceAsync(ValueTask<ChunkReadResult> chunk, int offset, int count) =>
        IsoPiece.Slice(await chunk, offset, count);
}

/// <summary>
/// Bytes of a range within one chunk and the magic-string occurrences of that chunk, or why there are none; with the
/// reader's reference to the buffer the bytes lie in, released once they are written.
/// </summary>
internal readonly record struct IsoPiece(UpstreamStatus Status, ReadOnlyMemory<byte> Data, long[] OccurrenceStarts, string? Reason, ChunkBuffer? Lease = null)
{
    /// <summary>What <see cref="IsoBodyReader.WriteAsync"/> returns once the whole range is written.</summary>
    public static IsoPiece Done => new(UpstreamStatus.Ok, ReadOnlyMemory<byte>.Empty, [], null);

    /// <summary>
    /// <paramref name="count"/> bytes at <paramref name="offset"/> of a whole chunk; the chunk's occurrences are all kept,
    /// as the overlay skips those outside the slice.
    /// </summary>
    public static IsoPiece Slice(ChunkReadResult chunk, int offset, int count) =>
        chunk.Status == UpstreamStatus.Ok
            ? new(UpstreamStatus.Ok, chunk.Data.Slice(offset, count), chunk.OccurrenceStarts, null, chunk.Lease)
            : new(chunk.Status, ReadOnlyMemory<byte>.Empty, [], chunk.Reason);
}
