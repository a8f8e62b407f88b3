using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// The cluster's chunk cache as a whole: one call to each active silo's <see cref="ISiloCacheGrain"/>, for the cache
/// report (<c>GET /api/cache</c>, the boot page, a prewarm's size check) and for a purge (<c>POST /api/purge</c>).
/// </summary>
internal static partial class ClusterCache
{
    // A silo that does not answer within this long is reported as such rather than holding up the whole report, which
    // the page asks for every two seconds, or a purge.
    private static readonly TimeSpan SiloTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The active silos' addresses.</summary>
    /// <exception cref="Exception">The silo list could not be read (the cluster is unreachable).</exception>
    public static async Task<SiloAddress[]> ActiveSilosAsync(IGrainFactory grains, CancellationToken cancellationToken)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, cancellationToken).WaitAsync(SiloTimeout, cancellationToken);
        return [.. hosts.Keys];
    }

    /// <summary>Every active silo's cache, and its versions summed over the silos; a silo that did not answer says why.</summary>
    /// <exception cref="Exception">The silo list could not be read (the cluster is unreachable).</exception>
    public static async Task<CacheReport> ReportAsync(IGrainFactory grains, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var silos = await ActiveSilosAsync(grains, cancellationToken);
        var answers = await Task.WhenAll(silos.Select(silo => AskAsync(grains, silo, logger, cancellationToken)));
        return new CacheReport(
            time.GetUtcNow(),
            Sources(answers),
            [.. answers.Select(s => s.Entry).OrderBy(s => s.Silo, StringComparer.Ordinal)]);
    }

    /// <summary>
    /// Drops the cached chunks of the source ISO whose URL is <paramref name="sourceUrl"/> in every active silo.
    /// <see cref="AdminStatus.Unavailable"/> when a silo did not answer: its chunks may still be cached.
    /// </summary>
    public static async Task<AdminResult<CachePurge>> PurgeAsync(IGrainFactory grains, string sourceUrl, ILogger logger, CancellationToken cancellationToken)
    {
        var sourceIso = IsoSource.ForDisplay(sourceUrl);
        SiloAddress[] silos;
        try
        {
            silos = await ActiveSilosAsync(grains, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogClusterUnreachable(logger, ex.Message, ex);
            return AdminResult.Fail<CachePurge>(AdminStatus.Unavailable, $"cluster unreachable: the silo list could not be read: {ex.Message}");
        }

        var answers = await Task.WhenAll(silos.Select(silo => PurgeSiloAsync(grains, silo, sourceUrl, logger, cancellationToken)));
        var chunks = answers.Sum(a => a.Purged?.Chunks ?? 0);
        var bytes = answers.Sum(a => a.Purged?.Bytes ?? 0);
        if (answers.FirstOrDefault(a => a.Error is not null) is { Error: { } error } failed)
        {
            return AdminResult.Fail<CachePurge>(
                AdminStatus.Unavailable,
                $"silo {failed.Silo} did not purge {sourceIso} ({error}); the others dropped {chunks} chunks: purge again");
        }

        LogPurged(logger, sourceIso, chunks, bytes, silos.Length);
        return AdminResult.Ok(new CachePurge(sourceIso, chunks, bytes, silos.Length));
    }

    private static async Task<(SiloCacheEntry Entry, VersionCacheReport[] Versions)> AskAsync(
        IGrainFactory grains,
        SiloAddress silo,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var address = silo.ToParsableString();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(SiloTimeout);
            var report = await grains.GetGrain<ISiloCacheGrain>(address).GetReportAsync(timeout.Token).AsTask().WaitAsync(timeout.Token);
            return (new SiloCacheEntry(address, report.Name, report.CachedBytes, report.Chunks, report.BudgetBytes, null), report.Versions);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = Reason(ex);
            LogSiloUnanswered(logger, address, reason, ex);
            return (new SiloCacheEntry(address, null, 0, 0, 0, reason), []);
        }
    }

    private static async Task<(string Silo, SiloCachePurge? Purged, string? Error)> PurgeSiloAsync(
        IGrainFactory grains,
        SiloAddress silo,
        string sourceUrl,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var address = silo.ToParsableString();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(SiloTimeout);
            var purged = await grains.GetGrain<ISiloCacheGrain>(address).PurgeAsync(sourceUrl, timeout.Token).AsTask().WaitAsync(timeout.Token);
            return (address, purged, null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = Reason(ex);
            LogSiloUnanswered(logger, address, reason, ex);
            return (address, null, reason);
        }
    }

    private static string Reason(Exception ex) =>
        ex is OperationCanceledException ? $"no answer within {SiloTimeout.TotalSeconds:0} s" : ex.Message;

    private static VersionCacheReport[] Sources(IEnumerable<(SiloCacheEntry Entry, VersionCacheReport[] Versions)> silos)
    {
        var sums = new Dictionary<string, VersionCacheReport>(StringComparer.Ordinal);
        foreach (var (_, versions) in silos)
        {
            foreach (var version in versions)
            {
                sums[version.VersionId] = sums.TryGetValue(version.VersionId, out var sum)
                    ? sum with
                    {
                        CachedBytes = sum.CachedBytes + version.CachedBytes,
                        Chunks = sum.Chunks + version.Chunks,
                        Hits = sum.Hits + version.Hits,
                        Misses = sum.Misses + version.Misses,
                    }
                    : version;
            }
        }

        return [.. sums.Values.OrderBy(v => v.SourceIso, StringComparer.Ordinal).ThenBy(v => v.VersionId, StringComparer.Ordinal)];
    }

    [LoggerMessage(EventId = 4310, Level = LogLevel.Warning, Message = "Chunk cache: the cluster's silo list could not be read: {Reason}")]
    internal static partial void LogClusterUnreachable(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = 4311, Level = LogLevel.Warning, Message = "Chunk cache: silo {Silo} did not answer: {Reason}")]
    private static partial void LogSiloUnanswered(ILogger logger, string silo, string reason, Exception exception);

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Purged source ISO {SourceIso} from the chunk cache: {Chunks} chunks, {Bytes} bytes over {Silos} silos")]
    private static partial void LogPurged(ILogger logger, string sourceIso, long chunks, long bytes, int silos);
}

/// <summary>The body of <c>GET /api/cache</c>.</summary>
/// <param name="GeneratedAt">When the report was gathered.</param>
/// <param name="Sources">Per source ISO version, summed over the silos.</param>
/// <param name="Silos">Per active silo; one that did not answer has <see cref="SiloCacheEntry.Error"/> set.</param>
internal sealed record CacheReport(DateTimeOffset GeneratedAt, VersionCacheReport[] Sources, SiloCacheEntry[] Silos);

/// <summary>One silo's line of the cache report.</summary>
internal sealed record SiloCacheEntry(string Silo, string? Name, long CachedBytes, long Chunks, long BudgetBytes, string? Error);

/// <summary>What a purge dropped from the silos' caches.</summary>
/// <param name="SourceIso">The source ISO as shown in logs.</param>
/// <param name="ChunksPurged">Chunks dropped.</param>
/// <param name="BytesPurged">Bytes given back to the silos' budgets.</param>
/// <param name="Silos">How many silos were asked (every active one).</param>
internal sealed record CachePurge(string SourceIso, long ChunksPurged, long BytesPurged, int Silos);
