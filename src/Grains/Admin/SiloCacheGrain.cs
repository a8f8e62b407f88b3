using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Admin;

/// <summary>Reports and purges the chunk cache of the silo it is placed on (<see cref="SiloTargetedPlacement"/>).</summary>
[SiloTargetedPlacement]
internal sealed class SiloCacheGrain : Grain, ISiloCacheGrain
{
    private readonly ChunkMemoryBudget _budget;
    private readonly ILocalSiloDetails _silo;

    public SiloCacheGrain(ChunkMemoryBudget budget, ILocalSiloDetails silo)
    {
        _budget = budget;
        _silo = silo;
    }

    public ValueTask<SiloCache> PurgeAsync(string sourceUrl)
    {
        var (chunks, bytes) = _budget.Purge(sourceUrl);
        return ValueTask.FromResult(new SiloCache(_silo.Name, chunks, bytes, _budget.CapacityBytes, []));
    }

    public ValueTask<SiloCache> GetContentsAsync()
    {
        var contents = _budget.Contents();
        var sources = contents.BySource
            .Select(pair => new SourceCache(pair.Key, pair.Value.Chunks, pair.Value.Bytes))
            .OrderBy(source => source.SourceIso, StringComparer.Ordinal)
            .ToArray();
        return ValueTask.FromResult(new SiloCache(_silo.Name, contents.Chunks, contents.UsedBytes, contents.CapacityBytes, sources));
    }
}
