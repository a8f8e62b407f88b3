using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace IsoCluster.Grains.Upstream;

/// <summary>What an upstream says about an ISO before any chunk is read.</summary>
/// <param name="Status">Whether the probe succeeded, or how it failed.</param>
/// <param name="Length">The ISO's length in bytes.</param>
/// <param name="ETag">The ETag as the upstream sent it, if any.</param>
/// <param name="LastModified">The upstream's Last-Modified, if any.</param>
/// <param name="RangeSupported">Whether the upstream answers range requests with 206.</param>
/// <param name="Reason">For a failure: what went wrong.</param>
/// <param name="Transient">For a failure: whether the upstream may well answer differently in a moment (see <see cref="UpstreamRead.Transient"/>).</param>
public sealed record UpstreamProbe(
    UpstreamStatus Status,
    long Length,
    string? ETag,
    DateTimeOffset? LastModified,
    bool RangeSupported,
    string? Reason,
    bool Transient = false);

/// <summary>The outcome of reading one byte window of an ISO version.</summary>
/// <param name="Status">Whether the read succeeded, or how it failed.</param>
/// <param name="Reason">For a failure: what went wrong.</param>
/// <param name="Transient">
/// For a failure: whether the upstream may well answer differently in a moment (a connection refused or broken, a body
/// cut short, a 5xx other than 501, 408, 429, a stall or timeout, or no fetch slot free on this silo). Such failures are
/// retried, and a source ISO keeps serving its last good version through them.
/// </param>
public readonly record struct UpstreamRead(UpstreamStatus Status, string? Reason, bool Transient = false)
{
    /// <summary>A successful read.</summary>
    public static UpstreamRead Ok => new(UpstreamStatus.Ok, null);
}

/// <summary>
/// The only code in the cluster that reads upstream ISOs. One long-lived handler per silo; redirects are followed
/// here, hop by hop, so that every hop is checked by <see cref="UpstreamUrlPolicy"/>. An operator's local file
/// (a <c>file:</c> source) is read by <see cref="FileUpstream"/> under the same contract.
/// </summary>
/// <remarks>
/// Every HTTP fetch (a version probe, a chunk) is idempotent and is retried on transient failures with exponential
/// backoff and jitter until <see cref="UpstreamOptions.RetryDeadline"/> (DESIGN invariant 8), each attempt watched by an
/// <see cref="UpstreamWatchdog"/> and holding one of the server's <see cref="UpstreamFetchSlots"/>.
/// <para>
/// The retry is Polly.Core's retry strategy, a well-kept library (Polly v8 was built with the .NET team and underlies
/// Microsoft.Extensions.Resilience) that Orleans already brings into the silo: its jittered exponential backoff,
/// attempt counting and time source are what a hand-written loop would have to get right again, and a fetch runs once
/// per chunk per version cluster-wide, so its few allocations per fetch do not matter here as they did for the
/// gateway's per-request <c>ClusterCallPolicy</c>. Microsoft.Extensions.Http.Resilience does not fit: its handler
/// retries a message when the response headers are in, and most of what goes wrong here comes later (a reset or
/// short body, a stall mid-body, validators that show another version), while redirects are followed by hand, one
/// message per hop. Polly's timeout strategy is not used either: it bounds a whole attempt, and a stalled attempt has
/// to be told apart from a slow one (see <see cref="UpstreamWatchdog"/>).
/// </para>
/// </remarks>
public sealed partial class UpstreamClient : IDisposable
{
    private static readonly ResiliencePropertyKey<Fetch> FetchKey = new("IsoCluster.Upstream.Fetch");

    private readonly HttpClient _http;
    private readonly HttpClient _clientSourceHttp;
    private readonly UpstreamUrlPolicy _policy;
    private readonly UpstreamOptions _options;
    private readonly FileUpstream _files;
    private readonly TimeProvider _time;
    private readonly UpstreamFetchSlots _slots;
    private readonly ResiliencePipeline<UpstreamRead> _readRetry;
    private readonly ResiliencePipeline<UpstreamProbe> _probeRetry;
    private readonly Counter<long> _retries;
    private readonly ILogger<UpstreamClient> _logger;

    /// <summary>Creates the client with its tuned, long-lived handlers: one for operator sources, one for client sources.</summary>
    public UpstreamClient(
        IOptions<UpstreamOptions> options,
        UpstreamUrlPolicy policy,
        UpstreamAddressGuard addressGuard,
        FileUpstream files,
        TimeProvider time,
        IMeterFactory meterFactory,
        ILogger<UpstreamClient> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(addressGuard);
        ArgumentNullException.ThrowIfNull(meterFactory);
        _options = options.Value;
        _policy = policy;
        _files = files;
        _time = time;
        _logger = logger;
        _http = CreateHttpClient(CreateHandler());

        // Client sources (?sourceISO=) get a handler of their own whose every connection goes through the address guard.
        // Connections are pooled per handler and keyed by scheme, host and port, not by address: were the two origins to
        // share one handler, an operator fetch from a host that resolves to 127.0.0.1 would leave a pooled connection
        // there that a client fetch naming the same host would reuse without any check. No proxy either: a proxy would
        // resolve the name itself, where the guard cannot see the address. Requests ask for HTTP/1.1 (the
        // HttpRequestMessage default), which connects through the callback; HTTP/3 over QUIC would not, so never ask for it.
        var clientHandler = CreateHandler();
        clientHandler.ConnectCallback = addressGuard.ConnectAsync;
        clientHandler.UseProxy = false;
        _clientSourceHttp = CreateHttpClient(clientHandler);

        _slots = new UpstreamFetchSlots(_options.MaxConnectionsPerServer, _options.MaxQueuedFetches);
        _readRetry = BuildRetry<UpstreamRead>(static read => read);
        _probeRetry = BuildRetry<UpstreamProbe>(static probe => new(probe.Status, probe.Reason, probe.Transient));
        var meter = meterFactory.Create(GrainsMetrics.MeterName);
        _retries = meter.CreateCounter<long>("isocluster.upstream.retries", "{retry}", "Upstream attempts that failed transiently and were retried.");
    }

    private SocketsHttpHandler CreateHandler() =>
        new()
        {
            // Redirects are followed by hand so that each hop is re-validated.
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = _options.MaxConnectionsPerServer,
        };

    private static HttpClient CreateHttpClient(SocketsHttpHandler handler)
    {
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("IsoCluster", "1.0"));
        return http;
    }

    /// <summary>
    /// Reads the length and validators of an ISO with a one-byte range request, or of a local file with a stat. With
    /// <paramref name="retry"/>, transient failures are retried within <see cref="UpstreamOptions.RetryDeadline"/>.
    /// </summary>
    public async Task<UpstreamProbe> ProbeAsync(IsoSource source, bool retry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.LocalPath is { } path)
        {
            if (RefuseClientFile(source) is { } refused)
            {
                return Failed(source, refused, attempts: 1);
            }

            var probe = _files.Probe(path);
            if (probe.Status != UpstreamStatus.Ok)
            {
                Log(source, new(probe.Status, probe.Reason), attempts: 1);
            }

            return probe;
        }

        var fetch = new Fetch(this, source, null, 0, 0, static () => Memory<byte>.Empty, "the version probe (bytes 0-0)", _time.GetTimestamp());
        var result = await RunAsync(retry ? _probeRetry : ResiliencePipeline<UpstreamProbe>.Empty, static (fetch, token) => fetch.Client.ProbeOnceAsync(fetch, token), fetch, cancellationToken);
        if (result.Status != UpstreamStatus.Ok)
        {
            Log(source, new(result.Status, result.Reason), fetch.Attempts);
        }

        return result;
    }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/> of <paramref name="version"/>,
    /// failing with <see cref="UpstreamStatus.VersionChanged"/> rather than returning bytes of another version.
    /// Transient failures are retried within <see cref="UpstreamOptions.RetryDeadline"/>.
    /// </summary>
    public Task<UpstreamRead> ReadAsync(IsoVersion version, long offset, Memory<byte> destination, CancellationToken cancellationToken) =>
        ReadAsync(version, offset, destination.Length, () => destination, cancellationToken);

    /// <summary>
    /// Reads <paramref name="length"/> bytes at <paramref name="offset"/> of <paramref name="version"/> into the memory
    /// <paramref name="destination"/> returns, which is asked for once, when the first attempt holds a fetch slot: a fetch
    /// queued behind <see cref="UpstreamOptions.MaxConnectionsPerServer"/> others holds no buffer while it waits.
    /// </summary>
    public async Task<UpstreamRead> ReadAsync(IsoVersion version, long offset, int length, Func<Memory<byte>> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(destination);
        if (version.Source.LocalPath is { } path)
        {
            if (RefuseClientFile(version.Source) is { } refused)
            {
                return Log(version.Source, refused, attempts: 1);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            try
            {
                var read = await _files.ReadAsync(path, version, offset, destination(), timeout.Token);
                return read.Status == UpstreamStatus.Ok ? read : Log(version.Source, read, attempts: 1);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Log(version.Source, new(UpstreamStatus.TimedOut, $"{path}: bytes {offset}-{offset + length - 1} not read within {_options.Timeout.TotalSeconds:0.#} s"), attempts: 1);
            }
        }

        var window = $"bytes {offset}-{offset + length - 1}";
        var fetch = new Fetch(this, version.Source, version, offset, length, destination, window, _time.GetTimestamp());
        var result = await RunAsync(_readRetry, static (fetch, token) => fetch.Client.ReadOnceAsync(fetch, token), fetch, cancellationToken);
        return result.Status == UpstreamStatus.Ok ? result : Log(version.Source, result, fetch.Attempts);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _clientSourceHttp.Dispose();
        _slots.Dispose();
    }

    // MachineGrain never builds a client source naming a file; this keeps a client from reading the silo's files
    // even if one got through.
    private static UpstreamRead? RefuseClientFile(IsoSource source) =>
        source.Origin == IsoSourceOrigin.Operator
            ? null
            : new(UpstreamStatus.RedirectRejected, $"a client-supplied source may not name a local file ('{source.DisplayUrl}')");

    private static void AddValidators(HttpRequestMessage request, IsoVersion version)
    {
        // If-Match needs a strong tag (RFC 9110 §13.1.1); without one the date is the best guard we have. Neither is
        // trusted alone: UpstreamResponseCheck compares every validator of the answer too.
        if (version.ETag is { } etag && !etag.StartsWith("W/", StringComparison.Ordinal))
        {
            request.Headers.TryAddWithoutValidation("If-Match", etag);
        }
        else if (version.LastModified is { } lastModified)
        {
            request.Headers.IfUnmodifiedSince = lastModified;
        }
    }

    private async Task<(HttpResponseMessage? Response, UpstreamRead Failure)> SendAsync(
        IsoSource source, Action<HttpRequestMessage> configure, UpstreamWatchdog watchdog)
    {
        var url = new Uri(source.Url, UriKind.Absolute);
        for (var hop = 0; ; hop++)
        {
            if (!_policy.IsAllowedHop(url, source.Origin, out var reason))
            {
                return (null, new(UpstreamStatus.RedirectRejected, reason));
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            configure(request);
            HttpResponseMessage response;
            try
            {
                var http = source.Origin == IsoSourceOrigin.Client ? _clientSourceHttp : _http;
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, watchdog.Token);
            }
            catch (HttpRequestException ex) when (ex.InnerException is UpstreamAddressRefusedException refused)
            {
                // Final: the name resolves to what it resolves to, and a retry would only ask again.
                return (null, new(UpstreamStatus.AddressRefused, refused.Message));
            }
            catch (HttpRequestException ex)
            {
                return (null, new(UpstreamStatus.Unreachable, $"{UpstreamFetchSlots.ServerOf(url)}: {ex.Message}", UpstreamResponseCheck.IsTransient(ex)));
            }

            watchdog.Progress();
            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308))
            {
                return (response, UpstreamRead.Ok);
            }

            var location = response.Headers.Location;
            response.Dispose();
            if (location is null)
            {
                return (null, new(UpstreamStatus.BadResponse, $"redirect from '{IsoSource.ForDisplay(url.ToString())}' without a Location"));
            }

            if (hop == _options.MaxRedirects)
            {
                return (null, new(UpstreamStatus.RedirectRejected, $"more than {_options.MaxRedirects} redirects"));
            }

            url = location.IsAbsoluteUri ? location : new Uri(url, location);
        }
    }

    private UpstreamProbe Failed(IsoSource source, UpstreamRead failure, int attempts)
    {
        Log(source, failure, attempts);
        return Failure(failure);
    }

    private UpstreamRead Log(IsoSource source, UpstreamRead failure, int attempts)
    {
        // Counted by UpstreamMetrics (isocluster.upstream.errors) where the grain waited for the read.
        LogUpstreamFailed(_logger, source.DisplayUrl, failure.Status, failure.Reason, attempts);
        return failure;
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning, Message = "Upstream {Url} failed: {Status}: {Reason} ({Attempts} attempt(s))")]
    private static partial void LogUpstreamFailed(ILogger logger, string url, UpstreamStatus status, string? reason, int attempts);
}
