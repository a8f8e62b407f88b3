using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Admin;

/// <summary>Reports and purges the chunk cache of the silo it runs on, which is the silo its key names.</summary>
[SiloKeyedPlacement]
internal sealed class SiloCacheGrain : Grain, ISiloCacheGrain
{
    private readonly ChunkMemoryBudget _budget;
    private readonly ChunkCacheLedger _ledger;
    private readonly ILocalSiloDetails _silo;

    public SiloCacheGrain(ChunkMemoryBudget budget, ChunkCacheLedger ledger, ILocalSiloDetails silo)
    {
        _budget = budget;
        _ledger = ledger;
        _silo = silo;
    }

    public ValueTask<SiloCacheReport> GetReportAsync(CancellationToken cancellationToken = default)
    {
        var versions = new List<VersionCacheReport>();
        foreach (var account in _ledger.Accounts)
        {
            var version = account.Version;
            versions.Add(new VersionCacheReport(
                version.Source.DisplayUrl,
                version.Id,
                version.Length,
                account.CachedBytes,
                account.Chunks,
                account.Hits,
                account.Misses));
        }

        return ValueTask.FromResult(new SiloCacheReport(
            _silo.SiloAddress.ToParsableString(),
            _silo.Name,
            _budget.UsedBytes,
            _budget.Count,
            _budget.CapacityBytes,
            [.. versions]));
    }

    public ValueTask<SiloCachePurge> PurgeAsync(string sourceUrl, CancellationToken cancellationToken = default)
    {
        var (chunks, bytes) = _budget.Purge(sourceUrl);
        return ValueTask.FromResult(new SiloCachePurge(chunks, bytes));
    }
}
