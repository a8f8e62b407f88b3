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
/// <remarks>
/// <see cref="Data"/> lies in a pooled, reference-counted buffer whenever <see cref="Lease"/> is set: the lease is the
/// caller's reference, which it releases once the bytes are copied (or keeps, which only costs the buffer's reuse).
/// Within one process the result is passed by reference (it is immutable) and the buffer is the silo cache's own. Sent
/// to another process, <see cref="ChunkReadResultCodec"/> copies the bytes into the message and releases the sender's
/// lease, and the receiver reads them into a buffer of its own process's pool, with a lease of its own.
/// </remarks>
[Immutable, Alias("IsoCluster.ChunkReadResult")]
public sealed record ChunkReadResult(UpstreamStatus Status, ReadOnlyMemory<byte> Data, long[] OccurrenceStarts, string? Reason)
{
    /// <summary>The caller's reference to the buffer <see cref="Data"/> lies in, or null when the bytes are the result's own.</summary>
    public ChunkBuffer? Lease { get; init; }
}
