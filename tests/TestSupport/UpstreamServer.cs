using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace IsoCluster.TestSupport;

/// <summary>One request the upstream saw.</summary>
public sealed record UpstreamRequest(string Method, string Path, string? Range, string? IfMatch, int StatusCode, string Query = "");

/// <summary>
/// A real HTTP upstream on loopback (Kestrel) serving in-memory files with ASP.NET Core's RFC 9110 range and
/// precondition handling, plus the misbehaviours tests need: redirect chains, no range support, fixed statuses.
/// Every request is recorded so tests can count what reached the upstream.
/// </summary>
/// <remarks>
/// Routes: <c>/files/{name}</c> (ranges, ETag, Last-Modified), <c>/norange/{name}</c> (always 200 with the whole
/// file), <c>/redirect/{hops}/{name}</c> (302 chain ending at <c>/files/{name}</c>), <c>/status/{code}/{name}</c>,
/// <c>/redirect-host/{host}/{name}</c> (302 to <c>http://{host}:{this port}/files/{name}</c>: the same server under
/// another host name).
/// </remarks>
public sealed class UpstreamServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, StoredFile> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<UpstreamRequest> _requests = new();
    private WebApplication? _app;
    private HeldRange? _held;

    private UpstreamServer()
    {
    }

    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every request seen so far, in arrival order.</summary>
    public IReadOnlyList<UpstreamRequest> Requests => [.. _requests];

    /// <summary>Starts a server on a free loopback port.</summary>
    public static async Task<UpstreamServer> StartAsync()
    {
        var server = new UpstreamServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (server._held is { } held && context.Request.Headers.Range.ToString().StartsWith(held.RangePrefix, StringComparison.Ordinal))
            {
                await held.Release.Task.WaitAsync(context.RequestAborted);
            }

            // Recorded as the response starts, before any body byte reaches the client, so a test that has its
            // bytes can count the request.
            context.Response.OnStarting(() =>
            {
                server._requests.Enqueue(new UpstreamRequest(
                    context.Request.Method,
                    context.Request.Path.Value ?? "",
                    context.Request.Headers.Range.ToString() is { Length: > 0 } range ? range : null,
                    context.Request.Headers.IfMatch.ToString() is { Length: > 0 } ifMatch ? ifMatch : null,
                    context.Response.StatusCode,
                    context.Request.QueryString.Value ?? ""));
                return Task.CompletedTask;
            });
            await next(context);
        });
        app.MapGet("/files/{name}", (string name) => server.Serve(name, rangeSupport: true));
        app.MapGet("/norange/{name}", (string name) => server.Serve(name, rangeSupport: false));
        app.MapGet("/redirect/{hops:int}/{name}", (int hops, string name) =>
            Results.Redirect(hops <= 1 ? $"/files/{name}" : $"/redirect/{hops - 1}/{name}"));
        app.MapGet("/status/{code:int}/{name}", (int code) => Results.StatusCode(code));
        app.MapGet("/redirect-host/{host}/{name}", (HttpContext context, string host, string name) =>
            Results.Redirect($"http://{host}:{context.Connection.LocalPort}/files/{name}"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        server._app = app;
        return server;
    }

    /// <summary>Serves <paramref name="content"/> as <paramref name="name"/> (replacing it: a new upstream version).</summary>
    public void SetFile(string name, byte[] content, DateTimeOffset? lastModified = null)
    {
        var modified = lastModified ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(_files.Count);
        var etag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content).AsSpan(0, 8))}\"");
        _files[name] = new StoredFile(content, modified, etag);
    }

    /// <summary>The URL of <paramref name="name"/> under a route (<c>files</c>, <c>norange</c>, <c>redirect/11</c>, <c>status/500</c>).</summary>
    public string Url(string name, string route = "files") => new Uri(BaseAddress, $"{route}/{name}").ToString();

    /// <summary>
    /// Holds every request whose Range header starts with <paramref name="rangePrefix"/> (e.g. <c>bytes=65536-</c>)
    /// until <see cref="ReleaseHeld"/>: a slow upstream for one chunk, to show that other chunks are not blocked.
    /// </summary>
    public void Hold(string rangePrefix) => _held = new HeldRange(rangePrefix, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Lets held requests go on.</summary>
    public void ReleaseHeld() => Interlocked.Exchange(ref _held, null)?.Release.TrySetResult();

    /// <summary>Forgets the requests seen so far.</summary>
    public void ClearRequests() => _requests.Clear();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        ReleaseHeld();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private IResult Serve(string name, bool rangeSupport)
    {
        if (!_files.TryGetValue(name, out var file))
        {
            return Results.NotFound();
        }

        return rangeSupport
            ? Results.Bytes(file.Content, "application/octet-stream", lastModified: file.LastModified, entityTag: file.ETag, enableRangeProcessing: true)
            : Results.Bytes(file.Content, "application/octet-stream");
    }

    private sealed record HeldRange(string RangePrefix, TaskCompletionSource Release);

    private sealed record StoredFile(byte[] Content, DateTimeOffset LastModified, EntityTagHeaderValue ETag);
}
