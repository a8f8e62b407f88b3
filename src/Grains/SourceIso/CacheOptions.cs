namespace IsoCluster.Grains.SourceIso;

/// <summary>The in-memory chunk cache of each silo (configuration section <c>Cache</c>).</summary>
public sealed class CacheOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Cache";

    /// <summary>
    /// Bytes of upstream chunks one silo keeps (<c>--cache-size</c>, e.g. <c>2GiB</c>); least recently read chunks
    /// are dropped beyond it. Adding silos adds cache. Default: 1 GiB.
    /// </summary>
    public ByteSize Size { get; set; } = ByteSize.FromMebibytes(1024);

    /// <summary>
    /// The size of the aligned pieces an ISO is fetched and cached in (<c>--chunk-size</c>). Default: 1 MiB.
    /// </summary>
    public ByteSize ChunkSize { get; set; } = ByteSize.FromMebibytes(1);
}
