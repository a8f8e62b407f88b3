using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace IsoCluster.Grains.Admin;

/// <summary>Fans a cache question or purge out to every active silo's <see cref="ISiloCacheGrain"/> and adds up the answers.</summary>
[StatelessWorker]
internal sealed partial class CacheAdminGrain : Grain, ICacheAdminGrain
{
    private readonly ILogger<CacheAdminGrain> _logger;

    public CacheAdminGrain(ILogger<CacheAdminGrain> logger) => _logger = logger;

    public async Task<AdminResult<CachePurge>> PurgeAsync(string sourceIso)
    {
        // The spelling a boot's grain was keyed by: an http(s) URL as given, a file as its canonical file:/// URL.
        // Nothing is fetched, so no allowlist applies: dropping bytes cannot reach anything.
        if (!AdminSourceUrl.TryParse(sourceIso, out var url, out var reason))
        {
            return AdminResult.Fail<CachePurge>(AdminStatus.BadRequest, $"sourceIso: {reason}");
        }

        var silos = await ActiveSilosAsync();
        var purged = await Task.WhenAll(silos.Select(silo => GrainFactory.GetGrain<ISiloCacheGrain>(silo).PurgeAsync(url).AsTask()));
        var result = new CachePurge(IsoSource.ForDisplay(url), purged.Sum(s => s.Chunks), purged.Sum(s => s.Bytes), silos.Length);
        LogPurged(_logger, result.SourceIso, result.ChunksPurged, result.BytesPurged, result.Silos);
        return AdminResult.Ok(result);
    }

    public async Task<CacheSummary> GetSummaryAsync()
    {
        var silos = await ActiveSilosAsync();
        var caches = await Task.WhenAll(silos.Select(silo => GrainFactory.GetGrain<ISiloCacheGrain>(silo).GetContentsAsync().AsTask()));
        var sources = caches
            .SelectMany(cache => cache.Sources)
            .GroupBy(source => source.SourceIso, StringComparer.Ordinal)
            .Select(group => new SourceCache(group.Key, group.Sum(s => s.Chunks), group.Sum(s => s.Bytes)))
            .OrderBy(source => source.SourceIso, StringComparer.Ordinal)
            .ToArray();
        return new CacheSummary(
            caches.Sum(c => c.Chunks),
            caches.Sum(c => c.Bytes),
            caches.Sum(c => c.CapacityBytes),
            sources,
            [.. caches.OrderBy(c => c.Silo, StringComparer.Ordinal)]);
    }

    private async Task<string[]> ActiveSilosAsync()
    {
        var hosts = await GrainFactory.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        return [.. hosts.Keys.Select(silo => silo.ToParsableString())];
    }

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Purged source ISO {SourceIso} from the chunk cache: {Chunks} chunks, {Bytes} bytes over {Silos} silos")]
    private static partial void LogPurged(ILogger logger, string sourceIso, long chunks, long bytes, int silos);
}
