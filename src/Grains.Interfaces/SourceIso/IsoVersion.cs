namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// One version of an upstream ISO as seen by the cluster: everything needed to serve and cache its bytes.
/// Every cached chunk belongs to exactly one version, so a response never mixes bytes of two versions.
/// </summary>
[GenerateSerializer, Immutable, Alias("IsoCluster.IsoVersion")]
public sealed record IsoVersion(
    [property: Id(0)] IsoSource Source,
    [property: Id(1)] string Id,
    [property: Id(2)] long Length,
    [property: Id(3)] string? ETag,
    [property: Id(4)] DateTimeOffset? LastModified,
    [property: Id(5)] int ChunkSize,
    [property: Id(6)] int MagicLength,
    [property: Id(7)] bool RangeSupported)
{
    /// <summary>How many chunks the ISO is cut into.</summary>
    public long ChunkCount => (Length + ChunkSize - 1) / ChunkSize;

    /// <summary>The key of the chunk grain that caches chunk <paramref name="index"/> of this version.</summary>
    public string ChunkKey(long index) => $"{Id}/{index}";
}

/// <summary>The answer to <see cref="ISourceIsoGrain.GetVersionAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("IsoCluster.IsoVersionResult")]
public sealed record IsoVersionResult(
    [property: Id(0)] UpstreamStatus Status,
    [property: Id(1)] IsoVersion? Version,
    [property: Id(2)] string? Reason);
