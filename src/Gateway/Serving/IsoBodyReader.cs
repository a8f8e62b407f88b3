using System.IO.Pipelines;
using IsoCluster.Gateway.Ranges;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// Reads a byte range of one ISO version from the chunk grains, piece by piece along chunk boundaries, and writes
/// it patched. The next piece is requested while the current one is written, so a sequential read keeps the
/// cluster and the client busy at once; at most two pieces are held.
/// </summary>
internal sealed class IsoBodyReader
{
    private readonly IGrainFactory _grains;
    private readonly IsoVersion _version;
    private readonly PatchOverlay _overlay;
    private readonly CancellationToken _cancellationToken;

    public IsoBodyReader(IGrainFactory grains, IsoVersion version, PatchOverlay overlay, CancellationToken cancellationToken)
    {
        _grains = grains;
        _version = version;
        _overlay = overlay;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Reads the first piece of <paramref name="range"/>.</summary>
    public Task<ChunkReadResult> ReadFirstAsync(ByteRange range) => ReadPieceAsync(range.Start, range.Start + range.Length);

    /// <summary>
    /// Writes <paramref name="range"/> to <paramref name="writer"/>; <paramref name="firstPiece"/> is the result of
    /// <see cref="ReadFirstAsync"/> when the caller already has it.
    /// </summary>
    public async Task<(UpstreamStatus Status, string? Reason)> WriteAsync(PipeWriter writer, ByteRange range, ChunkReadResult? firstPiece)
    {
        var position = range.Start;
        var end = range.Start + range.Length;
        var pending = firstPiece is null ? ReadPieceAsync(position, end) : Task.FromResult(firstPiece);
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
                pending = ReadPieceAsync(next, end);
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

    private Task<ChunkReadResult> ReadPieceAsync(long position, long end)
    {
        var chunkSize = _version.ChunkSize;
        var index = position / chunkSize;
        var offset = (int)(position - (index * chunkSize));
        var count = (int)Math.Min(end - position, chunkSize - offset);
        return _grains.GetGrain<IIsoChunkGrain>(_version.ChunkKey(index))
            .ReadAsync(_version, offset, count, _cancellationToken)
            .AsTask();
    }
}
