using System.IO.Pipelines;
using IsoCluster.Gateway.Ranges;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// Reads a byte range of one ISO version from the chunk grains, piece by piece along chunk boundaries, and writes
/// it patched. The next piece is requested while the current one is written, so a sequential read keeps the
/// cluster and the client busy at once; at most two pieces are held.
/// </summary>
/// <remarks>
/// Each piece is read through <see cref="ClusterCallPolicy"/>, so a silo lost under a read costs a retry, not the
/// read. A piece is written only once its read has returned, at the position it was asked for, and the position moves
/// on only after that: a retried piece is written exactly once, in its place.
/// </remarks>
internal sealed class IsoBodyReader
{
    private static readonly Func<PieceRead, CancellationToken, ValueTask<ChunkReadResult>> ReadPiece =
        static (piece, cancellationToken) => piece.Grain.ReadAsync(piece.Version, piece.Offset, piece.Count, cancellationToken);

    private readonly IGrainFactory _grains;
    private readonly ClusterCallPolicy _calls;
    private readonly IsoVersion _version;
    private readonly PatchOverlay _overlay;
    private readonly string _mac;
    private readonly CancellationToken _cancellationToken;

    public IsoBodyReader(IGrainFactory grains, ClusterCallPolicy calls, IsoVersion version, PatchOverlay overlay, string mac, CancellationToken cancellationToken)
    {
        _grains = grains;
        _calls = calls;
        _version = version;
        _overlay = overlay;
        _mac = mac;
        _cancellationToken = cancellationToken;
    }

    /// <summary>
    /// Reads the first piece of <paramref name="range"/>, within <paramref name="deadline"/> (the request's, shared with
    /// the boot plan: nothing has been sent yet).
    /// </summary>
    public ValueTask<ChunkReadResult> ReadFirstAsync(ByteRange range, long deadline) =>
        ReadPieceAsync(range.Start, range.Start + range.Length, deadline);

    /// <summary>
    /// Writes <paramref name="range"/> to <paramref name="writer"/>; <paramref name="firstPiece"/> is the result of
    /// <see cref="ReadFirstAsync"/> when the caller already has it.
    /// </summary>
    public async Task<(UpstreamStatus Status, string? Reason)> WriteAsync(PipeWriter writer, ByteRange range, ChunkReadResult? firstPiece)
    {
        var position = range.Start;
        var end = range.Start + range.Length;
        var pending = firstPiece is null ? ReadPieceAsync(position, end, _calls.StartDeadline()) : new ValueTask<ChunkReadResult>(firstPiece);
        while (position < end)
        {
            var piece = await pending;
            if (piece.Status != UpstreamStatus.Ok)
            {
                return (piece.Status, piece.Reason);
            }

            // A silo must never answer Ok with nothing; if one did, looping on the same position would never end.
            if (piece.Data.IsEmpty)
            {
                return (UpstreamStatus.BadResponse, $"chunk grain returned no bytes at offset {position}");
            }

            var next = position + piece.Data.Length;
            if (next < end)
            {
                // Its own deadline: the headers are out, so the clock that matters is the BMC's wait for the next bytes.
                pending = ReadPieceAsync(next, end, _calls.StartDeadline());
            }

            _overlay.Write(writer, piece.Data.Span, position, piece.OccurrenceStarts);
            var flushed = await writer.FlushAsync(_cancellationToken);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                throw new OperationCanceledException("The client stopped reading.");
            }

            position = next;
        }

        return (UpstreamStatus.Ok, null);
    }

    private ValueTask<ChunkReadResult> ReadPieceAsync(long position, long end, long deadline)
    {
        var chunkSize = _version.ChunkSize;
        var index = position / chunkSize;
        var offset = (int)(position - (index * chunkSize));
        var count = (int)Math.Min(end - position, chunkSize - offset);
        var key = _version.ChunkKey(index);
        var piece = new PieceRead(_grains.GetGrain<IIsoChunkGrain>(key), _version, offset, count);
        return _calls.CallAsync(ReadPiece, piece, ClusterCallKind.ChunkRead, _mac, key, deadline, _cancellationToken);
    }

    private readonly record struct PieceRead(IIsoChunkGrain Grain, IsoVersion Version, int Offset, int Count);
}
