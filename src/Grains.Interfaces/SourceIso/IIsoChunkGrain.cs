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
/// Within one process the result is passed by reference (it is immutable) and <see cref="Data"/> lies in the cache's
/// own pooled buffer: <see cref="Lease"/> is then a reference taken for the caller, who releases it once the bytes are
/// copied (or keeps it, which only costs the buffer's reuse). Sent to another process, the bytes are copied into the
/// message and the lease is released right after (<see cref="ChunkLeaseSerializationHooks"/>); the copy that arrives
/// has no lease, its bytes are its own.
/// </remarks>
[GenerateSerializer, Immutable, Alias("IsoCluster.ChunkReadResult")]
[SerializationCallbacks(typeof(ChunkLeaseSerializationHooks))]
public sealed record ChunkReadResult(
    [property: Id(0)] UpstreamStatus Status,
    [property: Id(1)] ReadOnlyMemory<byte> Data,
    [property: Id(2)] long[] OccurrenceStarts,
    [property: Id(3)] string? Reason)
{
    /// <summary>The caller's reference to the buffer <see cref="Data"/> lies in, or null when the bytes are the result's own.</summary>
    // Never sent: a reference means nothing in another process.
    [field: NonSerialized]
    public ChunkBuffer? Lease { get; init; }
}

/// <summary>Releases a <see cref="ChunkReadResult"/>'s lease once its bytes are copied into a message to another process.</summary>
public sealed class ChunkLeaseSerializationHooks
{
    /// <summary>Called by the generated serializer after it wrote <paramref name="value"/>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "The generated serializer calls its hooks on an instance.")]
    public void OnSerialized(ChunkReadResult value) => value?.Lease?.Release();
}
