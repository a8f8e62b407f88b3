namespace IsoCluster.Grains.Admin;

/// <summary>
/// The cluster's chunk cache as a whole: asks every active silo (through its <see cref="ISiloCacheGrain"/>) and adds
/// up the answers. A stateless worker, so it runs wherever it is called from.
/// </summary>
[Alias("IsoCluster.ICacheAdminGrain")]
public interface ICacheAdminGrain : IGrainWithIntegerKey
{
    /// <summary>Drops the cached chunks of <paramref name="sourceIso"/> (every version and origin) in every silo.</summary>
    [Alias("Purge")]
    Task<AdminResult<CachePurge>> PurgeAsync(string sourceIso);

    /// <summary>What every silo's cache holds.</summary>
    [Alias("GetSummary")]
    Task<CacheSummary> GetSummaryAsync();
}

/// <summary>
/// One silo's chunk cache, keyed by the silo's address (<c>SiloAddress.ToParsableString()</c>) and placed on that silo.
/// </summary>
[Alias("IsoCluster.ISiloCacheGrain")]
public interface ISiloCacheGrain : IGrainWithStringKey
{
    /// <summary>Drops this silo's cached chunks whose source URL is <paramref name="sourceUrl"/>.</summary>
    [Alias("Purge")]
    ValueTask<SiloCache> PurgeAsync(string sourceUrl);

    /// <summary>What this silo's cache holds.</summary>
    [Alias("GetContents")]
    ValueTask<SiloCache> GetContentsAsync();
}

/// <summary>One silo's cache, or what a purge dropped from it.</summary>
/// <param name="Silo">The silo's name.</param>
/// <param name="Chunks">Chunks held (or dropped).</param>
/// <param name="Bytes">Bytes held (or dropped).</param>
/// <param name="CapacityBytes">Bytes it may hold (<c>--cache-size</c>).</param>
/// <param name="Sources">What it holds of each source ISO; empty for a purge.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.SiloCache")]
public sealed record SiloCache(
    [property: Id(0)] string Silo,
    [property: Id(1)] long Chunks,
    [property: Id(2)] long Bytes,
    [property: Id(3)] long CapacityBytes,
    [property: Id(4)] IReadOnlyList<SourceCache> Sources);

/// <summary>What a cache holds of one source ISO.</summary>
/// <param name="SourceIso">The source ISO as shown in logs.</param>
/// <param name="Chunks">Chunks held.</param>
/// <param name="Bytes">Bytes held.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.SourceCache")]
public sealed record SourceCache(
    [property: Id(0)] string SourceIso,
    [property: Id(1)] long Chunks,
    [property: Id(2)] long Bytes);

/// <summary>Every silo's cache and the totals, for <c>GET /api/cache/summary</c>.</summary>
/// <param name="Chunks">Chunks held in all silos.</param>
/// <param name="Bytes">Bytes held in all silos.</param>
/// <param name="CapacityBytes">Bytes all silos may hold.</param>
/// <param name="Sources">What all silos hold of each source ISO.</param>
/// <param name="Silos">Each silo's cache.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.CacheSummary")]
public sealed record CacheSummary(
    [property: Id(0)] long Chunks,
    [property: Id(1)] long Bytes,
    [property: Id(2)] long CapacityBytes,
    [property: Id(3)] IReadOnlyList<SourceCache> Sources,
    [property: Id(4)] IReadOnlyList<SiloCache> Silos);

/// <summary>What a purge dropped, for <c>POST /api/purge</c>.</summary>
/// <param name="SourceIso">The source ISO as shown in logs.</param>
/// <param name="ChunksPurged">Chunks dropped from the silos' caches.</param>
/// <param name="BytesPurged">Bytes dropped from the silos' caches.</param>
/// <param name="Silos">How many silos were asked.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.CachePurge")]
public sealed record CachePurge(
    [property: Id(0)] string SourceIso,
    [property: Id(1)] long ChunksPurged,
    [property: Id(2)] long BytesPurged,
    [property: Id(3)] int Silos);
