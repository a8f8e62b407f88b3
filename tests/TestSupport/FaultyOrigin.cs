using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IsoCluster.TestSupport;

/// <summary>What a <see cref="FaultyOrigin"/> does to a request instead of answering it properly.</summary>
public enum FaultKind
{
    /// <summary>Headers and the first <see cref="OriginFault.Bytes"/> body bytes, then the connection is aborted (reset).</summary>
    ResetMidBody = 0,

    /// <summary>
    /// A 206 whose headers promise the window but whose body (chunked, so the framing itself is sound) ends after
    /// <see cref="OriginFault.Bytes"/> bytes.
    /// </summary>
    ShortBody = 1,

    /// <summary>Nothing at all until the client gives up: no status line, no headers.</summary>
    StallBeforeHeaders = 2,

    /// <summary>Headers and the first <see cref="OriginFault.Bytes"/> body bytes, then nothing until the client gives up.</summary>
    StallMidBody = 3,

    /// <summary>An error page with status <see cref="OriginFault.Status"/>, its own length and validators.</summary>
    Status = 4,

    /// <summary>200 with the whole file, ignoring the Range header (RFC 9110 allows it; validators are right).</summary>
    FullBodyForRange = 5,

    /// <summary>206 for a window shifted by 512 bytes from the one asked for, with a Content-Range saying so.</summary>
    WrongContentRange = 6,

    /// <summary>
    /// The right answer, sent slowly but steadily: <see cref="OriginFault.Bytes"/> bytes every 50 ms. A fetch that is
    /// making progress, holding its connection for a long time.
    /// </summary>
    Trickle = 7,
}

/// <summary>A fault and its parameter.</summary>
public sealed record OriginFault(FaultKind Kind, int Bytes = 0, int Status = 0)
{
    public static OriginFault Reset(int afterBytes) => new(FaultKind.ResetMidBody, Bytes: afterBytes);

    public static OriginFault ShortOf(int bytes) => new(FaultKind.ShortBody, Bytes: bytes);

    public static OriginFault StallHeaders() => new(FaultKind.StallBeforeHeaders);

    public static OriginFault StallBody(int afterBytes) => new(FaultKind.StallMidBody, Bytes: afterBytes);

    public static OriginFault Error(int status) => new(FaultKind.Status, Status: status);

    public static OriginFault WholeFile() => new(FaultKind.FullBodyForRange);

    public static OriginFault ShiftedRange() => new(FaultKind.WrongContentRange);

    public static OriginFault Slow(int bytesPerTick) => new(FaultKind.Trickle, Bytes: bytesPerTick);

    public override string ToString() => Kind switch
    {
        FaultKind.Status => $"HTTP {Status}",
        FaultKind.ResetMidBody or FaultKind.ShortBody or FaultKind.StallMidBody => $"{Kind} after {Bytes} bytes",
        _ => Kind.ToString(),
    };
}

/// <summary>Which validators a <see cref="FaultyOrigin"/> sends for a file.</summary>
public enum OriginValidators
{
    /// <summary>A strong ETag (a hash of the content) and Last-Modified.</summary>
    ETagAndLastModified = 0,

    /// <summary>Last-Modified only.</summary>
    LastModifiedOnly = 1,

    /// <summary>Neither.</summary>
    None = 2,
}

/// <summary>One request a <see cref="FaultyOrigin"/> saw, and what it did with it.</summary>
public sealed record OriginRequest(string Name, string? Range, string? IfMatch, string? IfUnmodifiedSince, int Status, OriginFault? Fault)
{
    /// <summary>When the origin was done with the request (its answer written, or the client gone); null until then.</summary>
    public DateTimeOffset? EndedAt { get; internal set; }
}

/// <summary>
/// A real HTTP origin on loopback (Kestrel on 127.0.0.1, a free port) serving in-memory ISOs at <c>/iso/{name}</c>, with
/// range and precondition handling written out here rather than borrowed, so that each can be made to misbehave on cue:
/// connections reset mid-body, short bodies, stalls, bursts of 5xx, a 200 for a range, a wrong Content-Range, content
/// replaced with or without a new ETag, preconditions ignored, validators missing.
/// </summary>
/// <remarks>
/// Faults are scripted per file and per requested window: <see cref="Inject"/> makes the first N requests for each
/// distinct Range (each chunk window) fail, so a test knows exactly which attempt of which fetch fails however the
/// cluster orders its fetches. The version probe (<c>bytes=0-0</c>) is spared unless asked for. Every request is recorded.
/// </remarks>
public sealed class FaultyOrigin : IAsyncDisposable
{
    private const string ProbeRange = "bytes=0-0";
    private static readonly TimeSpan TrickleTick = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<string, OriginFile> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FaultScript> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<OriginRequest> _requests = new();
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private readonly ConcurrencyGauge _inFlight = new();

    private FaultyOrigin()
    {
    }

    /// <summary>The origin's base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every request seen so far, in arrival order.</summary>
    public IReadOnlyList<OriginRequest> Requests => [.. _requests];

    /// <summary>How many requests are under way now.</summary>
    public int InFlight => _inFlight.Current;

    /// <summary>The most requests this origin has had under way at once.</summary>
    public int MostConcurrent => _inFlight.Most;

    /// <summary>The URL prefix every file is served under, for <c>--iso-source-allow</c>.</summary>
    public string Prefix => new Uri(BaseAddress, "iso/").ToString();

    /// <summary>Starts an origin on a free loopback port.</summary>
    public static async Task<FaultyOrigin> StartAsync()
    {
        var origin = new FaultyOrigin();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/iso/{name}", (HttpContext context, string name) => origin.ServeAsync(context, name));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        origin.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        origin._app = app;
        return origin;
    }

    /// <summary>The URL of <paramref name="name"/>.</summary>
    public string Url(string name) => new Uri(BaseAddress, "iso/" + name).ToString();

    /// <summary>
    /// Serves <paramref name="content"/> as <paramref name="name"/>, replacing what was there (a new upstream version).
    /// With <paramref name="honourPreconditions"/> false, <c>If-Match</c> and <c>If-Unmodified-Since</c> are ignored.
    /// </summary>
    public void Publish(
        string name,
        byte[] content,
        DateTimeOffset lastModified,
        OriginValidators validators = OriginValidators.ETagAndLastModified,
        bool honourPreconditions = true)
    {
        ArgumentNullException.ThrowIfNull(content);
        var etag = validators == OriginValidators.ETagAndLastModified
            ? $"\"{Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 8))}\""
            : null;
        _files[name] = new OriginFile(content, validators == OriginValidators.None ? null : lastModified, etag, honourPreconditions);
    }

    /// <summary>
    /// Makes the first <paramref name="timesPerRange"/> requests for each distinct window of <paramref name="name"/>
    /// (from now on) suffer <paramref name="fault"/>; <see cref="int.MaxValue"/> makes it permanent. The version probe
    /// is spared unless <paramref name="probeToo"/>.
    /// </summary>
    public void Inject(string name, OriginFault fault, int timesPerRange = 1, bool probeToo = false) =>
        _scripts[name] = new FaultScript(fault, timesPerRange, probeToo);

    /// <summary>Ends every fault scripted for <paramref name="name"/>.</summary>
    public void Heal(string name) => _scripts.TryRemove(name, out _);

    /// <summary>The requests for <paramref name="name"/> other than version probes.</summary>
    public IReadOnlyList<OriginRequest> ChunkRequests(string name) =>
        [.. _requests.Where(r => r.Name == name && r.Range != ProbeRange)];

    /// <inheritdoc />
    /// <remarks>May be called more than once: a test stops the origin to play an upstream that went away.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _app, null) is not { } app)
        {
            return;
        }

        await _stopping.CancelAsync();
        await app.StopAsync();
        await app.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task ServeAsync(HttpContext context, string name)
    {
        var request = context.Request;
        var response = context.Response;
        var range = request.Headers.Range.ToString() is { Length: > 0 } r ? r : null;
        OriginFault? fault = null;
        var status = 0;
        var recorded = 0;
        OriginRequest? entry = null;
        _inFlight.Enter();

        // Recorded as the response starts, before any body byte reaches the client, so a test that has its answer can
        // count the request; one that never starts (a stall before the headers) is recorded when it ends.
        void Record(int answered)
        {
            if (Interlocked.Exchange(ref recorded, 1) == 0)
            {
                entry = new OriginRequest(
                    name,
                    range,
                    request.Headers.IfMatch.ToString() is { Length: > 0 } ifMatch ? ifMatch : null,
                    request.Headers.IfUnmodifiedSince.ToString() is { Length: > 0 } since ? since : null,
                    answered,
                    fault);
                _requests.Enqueue(entry);
            }
        }

        response.OnStarting(() =>
        {
            Record(response.StatusCode);
            return Task.CompletedTask;
        });
        try
        {
            if (!_files.TryGetValue(name, out var file))
            {
                status = StatusCodes.Status404NotFound;
                response.StatusCode = status;
                return;
            }

            fault = _scripts.TryGetValue(name, out var script) ? script.Take(range, range == ProbeRange) : null;
            status = await AnswerAsync(context, file, range, fault);
        }
        finally
        {
            _inFlight.Exit();
            Record(status);
            entry!.EndedAt = DateTimeOffset.UtcNow;
        }
    }

    private async Task<int> AnswerAsync(HttpContext context, OriginFile file, string? rangeHeader, OriginFault? fault)
    {
        var request = context.Request;
        var response = context.Response;
        var content = file.Content;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var aborted = stop.Token;

        if (fault?.Kind == FaultKind.Status)
        {
            // An error page with validators of its own, which describe the page and not the ISO.
            var page = Encoding.ASCII.GetBytes($"<html><body>{fault.Status} from the origin</body></html>");
            response.StatusCode = fault.Status;
            response.ContentType = "text/html";
            response.ContentLength = page.Length;
            response.Headers.ETag = "\"error-page\"";
            response.Headers.LastModified = DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture);
            await response.Body.WriteAsync(page, aborted);
            return fault.Status;
        }

        if (fault?.Kind == FaultKind.StallBeforeHeaders)
        {
            await WaitForeverAsync(aborted);
            return 0;
        }

        if (file.HonourPreconditions && PreconditionFailed(request, file))
        {
            response.StatusCode = StatusCodes.Status412PreconditionFailed;
            return response.StatusCode;
        }

        response.Headers.AcceptRanges = "bytes";
        if (file.ETag is not null)
        {
            response.Headers.ETag = file.ETag;
        }

        if (file.LastModified is { } lastModified)
        {
            response.Headers.LastModified = lastModified.ToString("R", CultureInfo.InvariantCulture);
        }

        response.ContentType = "application/octet-stream";
        long start = 0;
        long end = content.Length - 1;
        var partial = false;
        if (rangeHeader is not null && fault?.Kind != FaultKind.FullBodyForRange
            && RangeHeaderValue.TryParse(rangeHeader, out var parsed) && parsed.Ranges.Count == 1)
        {
            var asked = parsed.Ranges.First();
            start = asked.From ?? Math.Max(0, content.Length - asked.To!.Value);
            end = asked.From is null ? content.Length - 1 : Math.Min(asked.To ?? content.Length - 1, content.Length - 1);
            if (start >= content.Length)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = $"bytes */{content.Length}";
                return response.StatusCode;
            }

            if (fault?.Kind == FaultKind.WrongContentRange)
            {
                var shift = Math.Min(512, content.Length - 1 - end);
                shift = shift > 0 ? shift : -Math.Min(512, start);
                start += shift;
                end += shift;
            }

            partial = true;
        }

        var length = end - start + 1;
        response.StatusCode = partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        if (partial)
        {
            response.Headers.ContentRange = $"bytes {start}-{end}/{content.Length}";
        }

        var body = content.AsMemory((int)start, (int)length);
        switch (fault?.Kind)
        {
            case FaultKind.ResetMidBody:
                response.ContentLength = length;
                await response.Body.WriteAsync(body[..Math.Min(fault.Bytes, body.Length)], aborted);
                await response.Body.FlushAsync(aborted);
                context.Abort();
                return response.StatusCode;

            case FaultKind.ShortBody:
                // No Content-Length: chunked, so the response is well framed and simply has too few bytes.
                await response.Body.WriteAsync(body[..Math.Min(fault.Bytes, body.Length)], aborted);
                return response.StatusCode;

            case FaultKind.StallMidBody:
                response.ContentLength = length;
                await response.Body.WriteAsync(body[..Math.Min(fault.Bytes, body.Length)], aborted);
                await response.Body.FlushAsync(aborted);
                await WaitForeverAsync(aborted);
                return response.StatusCode;

            case FaultKind.Trickle:
                response.ContentLength = length;
                for (var sent = 0; sent < body.Length; sent += fault.Bytes)
                {
                    await response.Body.WriteAsync(body.Slice(sent, Math.Min(fault.Bytes, body.Length - sent)), aborted);
                    await response.Body.FlushAsync(aborted);
                    await Task.Delay(TrickleTick, aborted);
                }

                return response.StatusCode;

            default:
                response.ContentLength = length;
                await response.Body.WriteAsync(body, aborted);
                return response.StatusCode;
        }
    }

    // RFC 9110 §13.1.1 and §13.1.4, as far as a single strong tag or a date: what a well-behaved origin checks.
    private static bool PreconditionFailed(HttpRequest request, OriginFile file)
    {
        var ifMatch = request.Headers.IfMatch.ToString();
        if (ifMatch.Length > 0)
        {
            return ifMatch != "*" && (file.ETag is null || !ifMatch.Split(',').Any(tag => tag.Trim() == file.ETag));
        }

        var since = request.Headers.IfUnmodifiedSince.ToString();
        return since.Length > 0
            && file.LastModified is { } lastModified
            && DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            && lastModified.ToUnixTimeSeconds() > date.ToUnixTimeSeconds();
    }

    private static async Task WaitForeverAsync(CancellationToken aborted)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, aborted);
        }
        catch (OperationCanceledException)
        {
            // The client gave up, or the origin is stopping: that is the end of the stall.
        }
    }

    private sealed record OriginFile(byte[] Content, DateTimeOffset? LastModified, string? ETag, bool HonourPreconditions);

    private sealed class FaultScript(OriginFault fault, int timesPerRange, bool probeToo)
    {
        private readonly ConcurrentDictionary<string, int> _seen = new(StringComparer.Ordinal);

        public OriginFault? Take(string? range, bool isProbe)
        {
            if (isProbe && !probeToo)
            {
                return null;
            }

            var count = _seen.AddOrUpdate(range ?? "", 1, static (_, seen) => seen == int.MaxValue ? seen : seen + 1);
            return count <= timesPerRange ? fault : null;
        }
    }
}
