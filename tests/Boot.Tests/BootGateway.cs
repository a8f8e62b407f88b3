using System.Collections.Concurrent;
using IsoCluster.Gateway.Hosting;
using IsoCluster.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Boot.Tests;

/// <summary>One request a VM made, as the gateway answered it.</summary>
public sealed record GatewayRequest(string Method, string Path, string? Range, int StatusCode, long? ContentLength);

/// <summary>An embedded-mode gateway on loopback that records every request it answers.</summary>
public sealed class BootGateway : IAsyncDisposable
{
    private readonly ConcurrentQueue<GatewayRequest> _requests = new();
    private WebApplication _app = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<GatewayRequest> Requests => [.. _requests];

    public static async Task<BootGateway> StartAsync(string scheme, IEnumerable<string> settings)
    {
        var gateway = new BootGateway();
        string[] args =
        [
            "--urls", $"{scheme}://127.0.0.1:0",
            "--orleans-silo-port", FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--orleans-gateway-port", FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            .. settings,
        ];
        var app = GatewayApplication.Create(args, builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));

        // Runs before the ISO endpoint: the minimal host puts endpoint routing after app.Use middleware.
        app.Use(async (context, next) =>
        {
            await next(context);
            gateway._requests.Enqueue(new GatewayRequest(
                context.Request.Method,
                context.Request.Path.Value ?? "",
                context.Request.Headers.Range.ToString() is { Length: > 0 } range ? range : null,
                context.Response.StatusCode,
                context.Response.ContentLength));
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        gateway.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        gateway._app = app;
        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
