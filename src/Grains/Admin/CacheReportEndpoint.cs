using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// <c>GET /api/cache</c>: the cluster's chunk cache per source ISO version (summed over the silos) and per silo, gathered
/// with one call to each active silo's <see cref="ISiloCacheGrain"/>; the boot page polls it.
/// </summary>
internal static partial class CacheReportEndpoint
{
    /// <summary>Where the report is served.</summary>
    public const string Path = "/api/cache";

    // A silo that does not answer within this long is reported as such rather than holding up the whole report, which
    // the page asks for every two seconds.
    private static readonly TimeSpan SiloTimeout = TimeSpan.FromSeconds(5);

    public static void MapCacheReport(this RouteGroupBuilder admin) => admin.MapGet(Path, (RequestDelegate)WriteAsync);

    private static async Task WriteAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var grains = services.GetRequiredService<IGrainFactory>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CacheReportEndpoint));
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var aborted = context.RequestAborted;
        context.Response.Headers.CacheControl = "no-store";

        Dictionary<SiloAddress, SiloStatus> hosts;
        try
        {
            hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(SiloTimeout, aborted);
        }
        catch (Exception ex) when (!aborted.IsCancellationRequested)
        {
            LogClusterUnreachable(logger, ex.Message, ex);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync($"cluster unreachable: the silo list could not be read: {ex.Message}\n", aborted);
            return;
        }

        var silos = await Task.WhenAll(hosts.Keys.Select(silo => AskAsync(grains, silo, logger, aborted)));
        var report = new CacheReport(
            time.GetUtcNow(),
            Sources(silos),
            [.. silos.Select(s => s.Entry).OrderBy(s => s.Silo, StringComparer.Ordinal)]);
        await context.Response.WriteAsJsonAsync(report, CacheReportJson.Default.CacheReport, cancellationToken: aborted);
    }

    private static async Task<(SiloCacheEntry Entry, VersionCacheReport[] Versions)> AskAsync(
        IGrainFactory grains,
        SiloAddress silo,
        ILogger logger,
        CancellationToken aborted)
    {
        var address = silo.ToParsableString();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            timeout.CancelAfter(SiloTimeout);
            var report = await grains.GetGrain<ISiloCacheGrain>(address).GetReportAsync(timeout.Token).AsTask().WaitAsync(timeout.Token);
            return (new SiloCacheEntry(address, report.Name, report.CachedBytes, report.Chunks, report.BudgetBytes, null), report.Versions);
        }
        catch (Exception ex) when (!aborted.IsCancellationRequested)
        {
            var reason = ex is OperationCanceledException ? $"no answer within {SiloTimeout.TotalSeconds:0} s" : ex.Message;
            LogSiloUnanswered(logger, address, reason, ex);
            return (new SiloCacheEntry(address, null, 0, 0, 0, reason), []);
        }
    }

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

    [LoggerMessage(EventId = 4310, Level = LogLevel.Warning, Message = "Cache report: the cluster's silo list could not be read: {Reason}")]
    private static partial void LogClusterUnreachable(ILogger logger, string reason, Exception exception);

    [LoggerMessage(EventId = 4311, Level = LogLevel.Warning, Message = "Cache report: silo {Silo} did not answer: {Reason}")]
    private static partial void LogSiloUnanswered(ILogger logger, string silo, string reason, Exception exception);
}

/// <summary>The body of <c>GET /api/cache</c>.</summary>
/// <param name="GeneratedAt">When the report was gathered.</param>
/// <param name="Sources">Per source ISO version, summed over the silos.</param>
/// <param name="Silos">Per active silo; one that did not answer has <see cref="SiloCacheEntry.Error"/> set.</param>
internal sealed record CacheReport(DateTimeOffset GeneratedAt, VersionCacheReport[] Sources, SiloCacheEntry[] Silos);

/// <summary>One silo's line of the cache report.</summary>
internal sealed record SiloCacheEntry(string Silo, string? Name, long CachedBytes, long Chunks, long BudgetBytes, string? Error);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CacheReport))]
internal sealed partial class CacheReportJson : JsonSerializerContext;
