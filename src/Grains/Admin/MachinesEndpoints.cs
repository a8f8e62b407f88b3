using System.Text.Json.Serialization;
using IsoCluster.Grains.Machines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// The read-only machines API: <c>GET /api/machines[?state=booting|finished|failed][&amp;mac=&lt;substring&gt;]</c> lists
/// every machine's latest boot from the boot registry in one grain call, and <c>GET /api/machines/{mac}</c> shows one
/// machine's boot from its own grain (the registry's copy when the grain no longer holds it).
/// </summary>
public static class MachinesEndpoints
{
    /// <summary>The listing's path.</summary>
    public const string MachinesPath = "/api/machines";

    /// <summary>Maps both endpoints into <paramref name="admin"/>.</summary>
    public static RouteGroupBuilder MapMachinesApi(this RouteGroupBuilder admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        admin.MapGet(MachinesPath, ListAsync);
        admin.MapGet(MachinesPath + "/{mac}", GetAsync);
        return admin;
    }

    private static async Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        BootState? state = null;
        if (query.TryGetValue("state", out var stateValues))
        {
            if (ParseState(stateValues.ToString()) is not { } parsed)
            {
                await WriteReasonAsync(context, StatusCodes.Status400BadRequest, $"state must be booting, finished or failed, not '{Echo(stateValues.ToString())}'");
                return;
            }

            state = parsed;
        }

        // MACs are listed lowercase with colons, so a substring typed with dashes or capitals finds them too.
        var mac = query.TryGetValue("mac", out var macValues) && macValues.ToString() is { Length: > 0 } typed
            ? typed.ToLowerInvariant().Replace('-', ':')
            : null;

        var grains = context.RequestServices.GetRequiredService<IGrainFactory>();
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        MachineBoot[] boots;
        try
        {
            boots = await grains.GetGrain<IBootRegistryGrain>(IBootRegistryGrain.Key).ListAsync(state, mac).AsTask().WaitAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            await WriteReasonAsync(context, StatusCodes.Status503ServiceUnavailable, $"the cluster did not answer ({ex.GetType().Name}); retry shortly");
            return;
        }

        var machines = new MachineJson[boots.Length];
        for (var i = 0; i < boots.Length; i++)
        {
            machines[i] = MachineJson.From(boots[i]);
        }

        await context.Response.WriteAsJsonAsync(new MachinesJson(time.GetUtcNow(), machines), MachinesJsonContext.Default.MachinesJson, contentType: null, context.RequestAborted);
    }

    private static async Task GetAsync(HttpContext context)
    {
        var text = context.Request.RouteValues["mac"] as string ?? "";
        if (!MacAddress.TryParse(text, out var mac, out var error))
        {
            await WriteReasonAsync(context, StatusCodes.Status400BadRequest, error);
            return;
        }

        var grains = context.RequestServices.GetRequiredService<IGrainFactory>();
        var key = mac.ToString();
        MachineBoot? boot;
        try
        {
            boot = await grains.GetGrain<IMachineGrain>(key).GetBootAsync().AsTask().WaitAsync(context.RequestAborted)
                ?? await grains.GetGrain<IBootRegistryGrain>(IBootRegistryGrain.Key).GetAsync(key).AsTask().WaitAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            await WriteReasonAsync(context, StatusCodes.Status503ServiceUnavailable, $"the cluster did not answer ({ex.GetType().Name}); retry shortly");
            return;
        }

        if (boot is null)
        {
            await WriteReasonAsync(context, StatusCodes.Status404NotFound, $"no boot on record for {key}: no gateway has served it an ISO request since its grain or the registry started");
            return;
        }

        await context.Response.WriteAsJsonAsync(MachineJson.From(boot), MachinesJsonContext.Default.MachineJson, contentType: null, context.RequestAborted);
    }

    private static BootState? ParseState(string text) => text switch
    {
        "booting" => BootState.Booting,
        "finished" => BootState.Finished,
        "failed" => BootState.Failed,
        _ => null,
    };

    private static Task WriteReasonAsync(HttpContext context, int statusCode, string reason)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(reason + "\n", context.RequestAborted);
    }

    // A reason quotes what the client sent, shortened and kept to one line.
    private static string Echo(string text)
    {
        var shown = text.Length <= 40 ? text : text[..40] + "…";
        return string.Create(shown.Length, shown, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }
}

/// <summary>The body of <c>GET /api/machines</c>.</summary>
internal sealed record MachinesJson(DateTimeOffset GeneratedAt, MachineJson[] Machines);

/// <summary>One machine's boot on the wire: the contract the boot page and the CLI read.</summary>
internal sealed record MachineJson(
    string Mac,
    string State,
    string? SourceIso,
    string? VersionId,
    long IsoLength,
    long BytesServed,
    long DistinctBytes,
    long Requests,
    DateTimeOffset FirstRead,
    DateTimeOffset LastRead,
    double BytesPerSecond,
    string? LastError)
{
    public static MachineJson From(MachineBoot boot) => new(
        boot.Mac,
        boot.State switch
        {
            BootState.Failed => "failed",
            BootState.Finished => "finished",
            _ => "booting",
        },
        boot.SourceIso,
        boot.VersionId,
        boot.IsoLength,
        boot.BytesServed,
        boot.DistinctBytes,
        boot.Requests,
        boot.FirstRead,
        boot.LastRead,
        boot.BytesPerSecond,
        boot.LastError);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(MachinesJson))]
[JsonSerializable(typeof(MachineJson))]
internal sealed partial class MachinesJsonContext : JsonSerializerContext;
