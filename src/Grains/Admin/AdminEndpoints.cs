using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using IsoCluster.Grains.Machines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// The admin listener's endpoints: <c>/metrics</c>, the live boot page (<c>/</c>, <c>/boots</c>), the machines API
/// (<see cref="MachinesEndpoints"/>), the cache report (<c>/api/cache</c>) and the admin API's prewarm, purge and
/// explain. A gateway serves them only on its <c>--admin-urls</c>, never to BMCs; a silo's one HTTP listener
/// (<c>--urls</c>) is its admin listener.
/// </summary>
/// <remarks>
/// Reading needs no token. Every call that changes something (any method but GET and HEAD) must carry
/// <c>Authorization: Bearer &lt;token&gt;</c> matching <c>--admin-token-file</c>: 401 without it or with another token,
/// 403 when no token file is configured. Errors are <c>{"error":"one line"}</c>.
/// </remarks>
public static partial class AdminEndpoints
{
    /// <summary>Where Prometheus scrapes.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>The JSON the admin API writes: camelCase, enums as camelCase strings, nulls left out.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

        // Reasons quote URLs and name <placeholders>; the API is read by tools and people, never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Registers what the admin API needs (the token, section <c>Admin</c>), validated at start.</summary>
    public static IServiceCollection AddIsoClusterAdmin(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AdminOptions>().Bind(configuration.GetSection(AdminOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminOptions>, AdminOptionsValidator>();
        services.AddSingleton<AdminToken>();
        return services;
    }

    /// <summary>
    /// Maps <c>/metrics</c> (Prometheus text format), the machines API, <c>/api/cache</c>, the boot page and the admin
    /// API's prewarm, purge and explain, and returns the group they are in: map further admin endpoints into that group
    /// and they carry <see cref="AdminListenerOnlyMetadata"/>, so a gateway serves them on its admin listener only, and
    /// the token check. The health endpoints stay outside it: both listeners serve them.
    /// </summary>
    public static RouteGroupBuilder MapIsoClusterAdmin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var admin = endpoints.MapGroup("");
        admin.WithMetadata(AdminListenerOnlyMetadata.Instance);
        admin.AddEndpointFilter(RequireTokenForChangesAsync);
        admin.MapPrometheusScrapingEndpoint(MetricsPath);
        admin.MapMachinesApi();
        admin.MapCacheReport();
        admin.MapBootPage();
        admin.MapPost("/api/prewarm", StartPrewarmAsync);
        admin.MapGet("/api/prewarm/{id}", GetPrewarmAsync);
        admin.MapPost("/api/purge", PurgeAsync);
        admin.MapGet("/api/explain/{mac}", ExplainAsync);
        return admin;
    }

    /// <summary>The one place an <see cref="AdminStatus"/> becomes an HTTP status.</summary>
    public static int ToHttpStatus(AdminStatus status) => status switch
    {
        AdminStatus.Ok => StatusCodes.Status200OK,
        AdminStatus.BadRequest => StatusCodes.Status400BadRequest,
        AdminStatus.NotFound => StatusCodes.Status404NotFound,
        AdminStatus.UpstreamFailed => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status503ServiceUnavailable,
    };

    private static async ValueTask<object?> RequireTokenForChangesAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))
        {
            return await next(context);
        }

        var token = http.RequestServices.GetRequiredService<AdminToken>();
        var check = token.Check(http.Request.Headers.Authorization.ToString() is { Length: > 0 } header ? header : null);
        if (check == AdminTokenCheck.Accepted)
        {
            return await next(context);
        }

        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminEndpoints));
        LogRefused(logger, http.Request.Method, http.Request.Path.Value ?? "", http.Connection.RemoteIpAddress?.ToString() ?? "", check);
        if (check == AdminTokenCheck.Off)
        {
            return Error(StatusCodes.Status403Forbidden, "admin API changes are off: no --admin-token-file");
        }

        // RFC 6750 §3: the challenge, and error="invalid_token" when a token was presented but is not the right one.
        http.Response.Headers.WWWAuthenticate = check == AdminTokenCheck.Missing
            ? "Bearer realm=\"isocluster-admin\""
            : "Bearer realm=\"isocluster-admin\", error=\"invalid_token\"";
        return Error(
            StatusCodes.Status401Unauthorized,
            check == AdminTokenCheck.Missing
                ? "this call changes something: send Authorization: Bearer <the token in --admin-token-file>"
                : "the bearer token is not the one in --admin-token-file");
    }

    private static async Task<IResult> StartPrewarmAsync(HttpRequest request, IGrainFactory grains)
    {
        var body = await ReadBodyAsync(request, required: false);
        if (body.Error is { } error)
        {
            return error;
        }

        var id = Guid.NewGuid().ToString("N");
        var started = await grains.GetGrain<IPrewarmGrain>(id).StartAsync(body.SourceIso);
        return started.Value is { } progress
            ? Results.Json(progress, Json, statusCode: StatusCodes.Status202Accepted)
            : Error(ToHttpStatus(started.Status), started.Reason ?? "the prewarm could not start");
    }

    private static async Task<IResult> GetPrewarmAsync(string id, IGrainFactory grains)
    {
        // Ids are what POST /api/prewarm made; anything else names no prewarm and activates nothing.
        if (!Guid.TryParseExact(id, "N", out _))
        {
            return Error(StatusCodes.Status404NotFound, $"no prewarm has id '{id}'");
        }

        var progress = await grains.GetGrain<IPrewarmGrain>(id.ToLowerInvariant()).GetProgressAsync();
        return progress is null
            ? Error(StatusCodes.Status404NotFound, $"no prewarm has id '{id}' (it may have finished over an hour ago, or its silo stopped)")
            : Results.Json(progress, Json);
    }

    private static async Task<IResult> PurgeAsync(HttpRequest request, IGrainFactory grains, ILoggerFactory loggers)
    {
        var body = await ReadBodyAsync(request, required: true);
        if (body.Error is { } error)
        {
            return error;
        }

        // The spelling a boot's grain was keyed by: an http(s) URL as given, a file as its canonical file:/// URL.
        // Nothing is fetched, so no allowlist applies: dropping bytes cannot reach anything.
        if (!AdminSourceUrl.TryParse(body.SourceIso, out var url, out var reason))
        {
            return Error(StatusCodes.Status400BadRequest, $"sourceIso: {reason}");
        }

        var purged = await ClusterCache.PurgeAsync(grains, url, loggers.CreateLogger(typeof(ClusterCache)), request.HttpContext.RequestAborted);
        if (purged.Value is not { } value)
        {
            return Error(ToHttpStatus(purged.Status), purged.Reason ?? "the purge failed");
        }

        // This gateway's own near-cache too: in embedded mode its entries hold references to the very buffers the silo
        // just let go of, and those go back to the pool only once the near-cache releases them as well.
        var gateway = request.HttpContext.RequestServices.GetService<IGatewayChunkCache>()?.Purge(url) ?? (Chunks: 0, Bytes: 0L);
        return Results.Json(new PurgeResponse(value.SourceIso, value.ChunksPurged, value.BytesPurged, value.Silos, gateway.Chunks, gateway.Bytes), Json);
    }

    private static async Task<IResult> ExplainAsync(string mac, IGrainFactory grains, CancellationToken cancellationToken)
    {
        if (!MacAddress.TryParse(mac, out var parsed, out var macError))
        {
            return Error(StatusCodes.Status400BadRequest, macError);
        }

        var explained = await grains.GetGrain<IMachineGrain>(parsed.ToString()).ExplainAsync(cancellationToken);
        return explained.Value is { } explanation
            ? Results.Json(explanation, Json)
            : Error(ToHttpStatus(explained.Status), explained.Reason ?? $"{parsed} cannot be explained");
    }

    private static async Task<(string? SourceIso, IResult? Error)> ReadBodyAsync(HttpRequest request, bool required)
    {
        SourceIsoRequest? body = null;
        try
        {
            if (request.ContentLength is not 0)
            {
                using var reader = new StreamReader(request.Body);
                var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
                body = string.IsNullOrWhiteSpace(text) ? null : JsonSerializer.Deserialize<SourceIsoRequest>(text, Json);
            }
        }
        catch (JsonException ex)
        {
            return (null, Error(StatusCodes.Status400BadRequest, $"the body is not JSON of the form {{\"sourceIso\":\"<url>\"}}: {ex.Message}"));
        }

        if (required && string.IsNullOrWhiteSpace(body?.SourceIso))
        {
            return (null, Error(StatusCodes.Status400BadRequest, "the body must name the source ISO: {\"sourceIso\":\"<url>\"}"));
        }

        return (string.IsNullOrWhiteSpace(body?.SourceIso) ? null : body.SourceIso, null);
    }

    private static IResult Error(int status, string reason) => Results.Json(new ErrorResponse(reason), Json, statusCode: status);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "Admin call {Method} {Path} from {Remote} refused: {Check}")]
    private static partial void LogRefused(ILogger logger, string method, string path, string remote, AdminTokenCheck check);

    private sealed record SourceIsoRequest(string? SourceIso);

    private sealed record ErrorResponse(string Error);

    private sealed record PurgeResponse(string SourceIso, long ChunksPurged, long BytesPurged, int Silos, long GatewayChunksPurged, long GatewayBytesPurged);
}

/// <summary>A cache in front of the cluster in this process (a gateway's near-cache) that a purge must empty too.</summary>
public interface IGatewayChunkCache
{
    /// <summary>Drops every chunk of the source ISO whose URL is <paramref name="sourceUrl"/>.</summary>
    /// <returns>How many chunks and bytes were dropped.</returns>
    (int Chunks, long Bytes) Purge(string sourceUrl);
}

/// <summary>Marks an endpoint that a gateway serves on its admin listener only (a 404 on the BMC listener).</summary>
public sealed class AdminListenerOnlyMetadata
{
    private AdminListenerOnlyMetadata()
    {
    }

    /// <summary>The one instance.</summary>
    public static AdminListenerOnlyMetadata Instance { get; } = new();
}
