namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// Caches one fixed-size, aligned chunk of one ISO version (keyed by <see cref="IsoVersion.ChunkKey"/>) and
/// where the magic string overlaps it. Concurrent misses wait on the one upstream fetch of the chunk.
/// </summary>
[Alias("IsoCluster.IIsoChunkGrain")]
public interface IIsoChunkGrain : IGrainWithStringKey
{
    /// <summary>Reads <paramref name="count"/> bytes at <paramref name="offset"/> within the chunk.</summary>
    [Alias("Read")]
    ValueTask<ChunkReadResult> ReadAsync(IsoVersion version, int offset, int count, CancellationToken cancellationToken = default);
}

/// <summary>
/// Bytes of a chunk slice and the absolute ISO offsets of every magic-string occurrence that overlaps the slice
/// (an occurrence may start before the slice or end after it).
/// </summary>
[GenerateSerializer, Immutable, Alias("IsoCluster.ChunkReadResult")]
public sealed record ChunkReadResult(
    [property: Id(0)] UpstreamStatus Status,
    [property: Id(1)] ReadOnlyMemory<byte> Data,
    [property: Id(2)] long[] OccurrenceStarts,
    [property: Id(3)] string? Reason);
