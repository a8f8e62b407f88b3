namespace IsoCluster.Grains.Admin;

/// <summary>
/// One prewarm of a source ISO into the cluster's chunk cache, keyed by its id: fetches every chunk into its chunk
/// grain exactly as a boot's reads would, a few at a time, and reports its progress.
/// </summary>
[Alias("IsoCluster.IPrewarmGrain")]
public interface IPrewarmGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the prewarm of <paramref name="sourceIso"/> (the configured default source ISO when null) and answers
    /// once its version is known; the chunks are fetched after the answer.
    /// </summary>
    [Alias("Start")]
    Task<AdminResult<PrewarmProgress>> StartAsync(string? sourceIso);

    /// <summary>The progress so far, or null when this id names no prewarm (never started, or long finished).</summary>
    [Alias("GetProgress")]
    ValueTask<PrewarmProgress?> GetProgressAsync();
}

/// <summary>How far a prewarm has got.</summary>
public enum PrewarmState
{
    /// <summary>Chunks are being fetched.</summary>
    Running = 0,

    /// <summary>Every chunk it set out to fetch is cached.</summary>
    Done = 1,

    /// <summary>A chunk could not be fetched; <see cref="PrewarmProgress.Error"/> says why.</summary>
    Failed = 2,
}

/// <summary>A prewarm's progress, as <c>POST /api/prewarm</c> and <c>GET /api/prewarm/{id}</c> show it.</summary>
/// <param name="Id">The prewarm's id.</param>
/// <param name="SourceIso">The source ISO, as shown in logs (no query, no user information).</param>
/// <param name="VersionId">The version of the source ISO whose chunks are fetched.</param>
/// <param name="IsoLength">The ISO's length in bytes.</param>
/// <param name="ChunksTotal">Chunks it sets out to fetch.</param>
/// <param name="ChunksDone">Chunks cached so far.</param>
/// <param name="BytesDone">Bytes of ISO cached so far.</param>
/// <param name="State">Running, done or failed.</param>
/// <param name="Error">Why it failed, or null.</param>
/// <param name="Warning">Why it fetches less than the whole ISO (the ISO is larger than the cache), or null.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.PrewarmProgress")]
public sealed record PrewarmProgress(
    [property: Id(0)] string Id,
    [property: Id(1)] string SourceIso,
    [property: Id(2)] string VersionId,
    [property: Id(3)] long IsoLength,
    [property: Id(4)] long ChunksTotal,
    [property: Id(5)] long ChunksDone,
    [property: Id(6)] long BytesDone,
    [property: Id(7)] PrewarmState State,
    [property: Id(8)] string? Error,
    [property: Id(9)] string? Warning);
