using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using IsoCluster.Gateway.Admin;
using IsoCluster.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IsoCluster.TestSupport;

/// <summary>One request a gateway answered.</summary>
public sealed record GatewayRequest(string Method, string Path, string? Range, int StatusCode, long? ContentLength);

/// <summary>
/// A real gateway (Kestrel on a free loopback port) built by <see cref="GatewayApplication.Create"/> from command-line
/// flags, exactly as <c>dotnet run --project src/Gateway</c> builds it, with an embedded silo unless told otherwise.
/// </summary>
public sealed class GatewayInstance : IAsyncDisposable
{
    // Graceful silo shutdown waits for activations to deactivate; a bound keeps a wedged test from hanging the run.
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<GatewayRequest> _requests;
    private readonly List<HttpClient> _clients = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    private GatewayInstance(WebApplication app, Uri baseAddress, Uri adminAddress, CapturedLog log, ConcurrentQueue<GatewayRequest> requests)
    {
        _app = app;
        _requests = requests;
        BaseAddress = baseAddress;
        AdminAddress = adminAddress;
        Log = log;
        Client = CreateClient();
    }

    /// <summary>Where the gateway listens for BMCs (<c>--urls</c>), e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Where its admin listener listens (<c>--admin-urls</c>), e.g. <c>http://127.0.0.1:40124/</c>.</summary>
    public Uri AdminAddress { get; }

    /// <summary>A client for the gateway; it never decompresses nor follows redirects, so tests see the wire.</summary>
    public HttpClient Client { get; }

    /// <summary>The gateway's services, for tests that check how it was configured.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>What the gateway and its embedded silo logged.</summary>
    public CapturedLog Log { get; }

    /// <summary>Every request the gateway answered, in completion order.</summary>
    public IReadOnlyList<GatewayRequest> Requests => [.. _requests];

    /// <summary>
    /// Starts a gateway with <paramref name="args"/> plus <c>--urls http://127.0.0.1:0</c> and, unless
    /// <paramref name="args"/> name their own, <c>--admin-urls http://127.0.0.1:0</c> (never the fixed default port, which
    /// gateways running side by side would fight over). With
    /// <paramref name="embeddedSilo"/>, free silo and Orleans gateway ports and a unique cluster id are added too, so
    /// several gateways (each with its own silo) can run side by side in one test process.
    /// </summary>
    public static async Task<GatewayInstance> StartAsync(IEnumerable<string> args, bool embeddedSilo = true, string scheme = "http")
    {
        ArgumentNullException.ThrowIfNull(args);
        var all = new List<string>(args) { "--urls", $"{scheme}://127.0.0.1:0" };
        if (!all.Any(arg => arg.StartsWith("--admin-urls", StringComparison.Ordinal)))
        {
            all.AddRange(["--admin-urls", "http://127.0.0.1:0"]);
        }

        if (embeddedSilo)
        {
            var siloPort = FreePorts.Next();
            var gatewayPort = FreePorts.Next();
            while (gatewayPort == siloPort)
            {
                gatewayPort = FreePorts.Next();
            }

            all.AddRange(
            [
                "--orleans-silo-port", siloPort.ToString(CultureInfo.InvariantCulture),
                "--orleans-gateway-port", gatewayPort.ToString(CultureInfo.InvariantCulture),
                "--orleans-cluster-id", "e2e-" + Guid.NewGuid().ToString("N")[..12],
            ]);
        }

        var log = new CapturedLog();
        var app = GatewayApplication.Create(all, builder =>
        {
            // The console logger would flood the test output and cost CPU on every request; the capture keeps what
            // tests assert on. Framework chatter (one line per request) is left out.
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(log);
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            builder.Logging.AddFilter("Orleans", LogLevel.Warning);
            builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
            builder.Logging.AddFilter("Polly", LogLevel.Warning);
        });

        var requests = new ConcurrentQueue<GatewayRequest>();

        // app.Use middleware runs before the ISO endpoint: the minimal host routes to endpoints after it.
        app.Use(async (context, next) =>
        {
            await next(context);
            requests.Enqueue(new GatewayRequest(
                context.Request.Method,
                context.Request.Path.Value ?? "",
                context.Request.Headers.Range.ToString() is { Length: > 0 } range ? range : null,
                context.Response.StatusCode,
                context.Response.ContentLength));
        });

        try
        {
            await app.StartAsync();
            var listeners = app.Services.GetRequiredService<GatewayListeners>();
            var address = listeners.BmcAddresses.First(a => a.StartsWith($"{scheme}://", StringComparison.Ordinal));
            var admin = listeners.AdminAddresses is [var first, ..] ? first : "http://admin-listener.invalid";
            return new GatewayInstance(app, new Uri(address.TrimEnd('/') + "/"), new Uri(admin.TrimEnd('/') + "/"), log, requests);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>The path of a machine's ISO, e.g. <c>iso/b4:96:91:6e:2c:10/hook.iso</c>, relative to <see cref="BaseAddress"/>.</summary>
    public static string IsoPath(string mac, string name = "hook.iso", string? sourceIso = null) =>
        $"iso/{mac}/{name}" + (sourceIso is null ? "" : "?sourceISO=" + Uri.EscapeDataString(sourceIso));

    /// <summary>
    /// Another client with its own connection pool: each one stands for a separate BMC. Disposed with the gateway.
    /// </summary>
    public HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
        };

        // Generous: a 2-core CI box running 50 readers is slow, and a hang should fail rather than stall the run.
        var client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _clients.Add(client);
        }

        return client;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }

        using (var timeout = new CancellationTokenSource(StopTimeout))
        {
            try
            {
                await _app.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // A slow graceful stop is not what the tests check; DisposeAsync below still tears everything down.
            }
        }

        await _app.DisposeAsync();
    }
}
