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
/// with one call to each active silo's <see cref="ISiloCacheGrain"/> (<see cref="ClusterCache"/>); the boot page polls
/// it and <c>isocluster status</c> shows it.
/// </summary>
internal static class CacheReportEndpoint
{
    /// <summary>Where the report is served.</summary>
    public const string Path = "/api/cache";

    public static void MapCacheReport(this RouteGroupBuilder admin) => admin.MapGet(Path, (RequestDelegate)WriteAsync);

    private static async Task WriteAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var grains = services.GetRequiredService<IGrainFactory>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CacheReportEndpoint));
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var aborted = context.RequestAborted;
        context.Response.Headers.CacheControl = "no-store";

        CacheReport report;
        try
        {
            report = await ClusterCache.ReportAsync(grains, time, logger, aborted);
        }
        catch (Exception ex) when (!aborted.IsCancellationRequested)
        {
            ClusterCache.LogClusterUnreachable(logger, ex.Message, ex);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync($"cluster unreachable: the silo list could not be read: {ex.Message}\n", aborted);
            return;
        }

        await context.Response.WriteAsJsonAsync(report, CacheReportJson.Default.CacheReport, cancellationToken: aborted);
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CacheReport))]
internal sealed partial class CacheReportJson : JsonSerializerContext;
