using System.Diagnostics.Metrics;

namespace IsoCluster.Grains.SourceIso;

/// <summary>How this silo's chunk cache answers reads; its size is measured by <see cref="ChunkMemoryBudget"/>.</summary>
public sealed class ChunkCacheMetrics
{
    private static readonly KeyValuePair<string, object?> HitTag = new("isocluster.cache.result", "hit");
    private static readonly KeyValuePair<string, object?> MissTag = new("isocluster.cache.result", "miss");

    private readonly Counter<long> _reads;

    /// <summary>Creates the counter on the silo's meter.</summary>
    public ChunkCacheMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);

        // A chunk grain is not reentrant, so readers that arrive during a miss's fetch wait in its queue unseen and
        // count as hits once it is cached; the gateways count their own coalesced waits.
        _reads = meterFactory.Create(GrainsMetrics.MeterName).CreateCounter<long>(
            "isocluster.cache.reads",
            "{read}",
            "Chunk reads on this silo: hit (cached here) or miss (fetched from the upstream).");
    }

    /// <summary>A read answered from the cache.</summary>
    public void Hit() => _reads.Add(1, HitTag);

    /// <summary>A read that had to fetch its chunk.</summary>
    public void Miss() => _reads.Add(1, MissTag);
}
