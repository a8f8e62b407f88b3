namespace IsoCluster.Grains.Admin;

/// <summary>
/// Reports and purges the chunk cache of one silo: the grain keyed by a silo's address
/// (<c>SiloAddress.ToParsableString()</c>) is placed on that silo and on no other, so asking each silo's grain reaches
/// the whole cluster's cache in one fan-out.
/// </summary>
[Alias("IsoCluster.ISiloCacheGrain")]
public interface ISiloCacheGrain : IGrainWithStringKey
{
    /// <summary>What the silo's cache holds now, and the reads it answered, per ISO version.</summary>
    [Alias("GetReport")]
    ValueTask<SiloCacheReport> GetReportAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Drops the silo's cached chunks of the source ISO whose URL is <paramref name="sourceUrl"/> (every version and
    /// origin); the next read of each fetches it again.
    /// </summary>
    [Alias("Purge")]
    ValueTask<SiloCachePurge> PurgeAsync(string sourceUrl, CancellationToken cancellationToken = default);
}

/// <summary>One silo's chunk cache.</summary>
/// <param name="Silo">The silo's address.</param>
/// <param name="Name">The silo's name (its host name unless configured).</param>
/// <param name="CachedBytes">Bytes held against the budget, the margins fetched around each chunk included.</param>
/// <param name="Chunks">Chunks held.</param>
/// <param name="BudgetBytes">Bytes the silo may hold (<c>--cache-size</c>).</param>
/// <param name="Versions">Per ISO version: what is held and how reads were answered.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.SiloCacheReport")]
public sealed record SiloCacheReport(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Name,
    [property: Id(2)] long CachedBytes,
    [property: Id(3)] long Chunks,
    [property: Id(4)] long BudgetBytes,
    [property: Id(5)] VersionCacheReport[] Versions);

/// <summary>One ISO version's part of one silo's cache.</summary>
/// <param name="SourceIso">The source ISO's URL for display (no query or user information: presigned URLs hold credentials).</param>
/// <param name="VersionId">The version.</param>
/// <param name="IsoLength">The version's length in bytes.</param>
/// <param name="CachedBytes">Bytes of the ISO held (chunk data only).</param>
/// <param name="Chunks">Chunks held.</param>
/// <param name="Hits">Chunk reads answered from the cache since the silo started.</param>
/// <param name="Misses">Chunk reads that fetched from the upstream since the silo started.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.VersionCacheReport")]
public sealed record VersionCacheReport(
    [property: Id(0)] string SourceIso,
    [property: Id(1)] string VersionId,
    [property: Id(2)] long IsoLength,
    [property: Id(3)] long CachedBytes,
    [property: Id(4)] long Chunks,
    [property: Id(5)] long Hits,
    [property: Id(6)] long Misses);

/// <summary>What a purge dropped from one silo's chunk cache.</summary>
/// <param name="Chunks">Chunks dropped.</param>
/// <param name="Bytes">Bytes given back to the budget, the margins fetched around each chunk included.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.SiloCachePurge")]
public sealed record SiloCachePurge(
    [property: Id(0)] long Chunks,
    [property: Id(1)] long Bytes);
