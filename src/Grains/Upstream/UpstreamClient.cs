using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Upstream;

/// <summary>What an upstream says about an ISO before any chunk is read.</summary>
public sealed record UpstreamProbe(
    UpstreamStatus Status,
    long Length,
    string? ETag,
    DateTimeOffset? LastModified,
    bool RangeSupported,
    string? Reason);

/// <summary>The outcome of reading one byte window of an ISO version.</summary>
public readonly record struct UpstreamRead(UpstreamStatus Status, string? Reason)
{
    /// <summary>A successful read.</summary>
    public static UpstreamRead Ok => new(UpstreamStatus.Ok, null);
}

/// <summary>
/// The only code in the cluster that reads upstream ISOs. One long-lived handler per silo; redirects are followed
/// here, hop by hop, so that every hop is checked by <see cref="UpstreamUrlPolicy"/>. An operator's local file
/// (a <c>file:</c> source) is read by <see cref="FileUpstream"/> under the same contract.
/// </summary>
public sealed partial class UpstreamClient : IDisposable
{
    private const int SkipBufferSize = 64 * 1024;

    private readonly HttpClient _http;
    private readonly HttpClient _clientSourceHttp;
    private readonly UpstreamUrlPolicy _policy;
    private readonly UpstreamOptions _options;
    private readonly FileUpstream _files;
    private readonly ILogger<UpstreamClient> _logger;

    /// <summary>Creates the client with its tuned, long-lived handlers: one for operator sources, one for client sources.</summary>
    public UpstreamClient(
        IOptions<UpstreamOptions> options, UpstreamUrlPolicy policy, UpstreamAddressGuard addressGuard, FileUpstream files, ILogger<UpstreamClient> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(addressGuard);
        _options = options.Value;
        _policy = policy;
        _files = files;
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

    /// <summary>Reads the length and validators of an ISO with a one-byte range request, or of a local file with a stat.</summary>
    public async Task<UpstreamProbe> ProbeAsync(IsoSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.LocalPath is { } path)
        {
            if (RefuseClientFile(source) is { } refused)
            {
                return Failed(source, refused);
            }

            var probe = _files.Probe(path);
            if (probe.Status != UpstreamStatus.Ok)
            {
                Log(source, new(probe.Status, probe.Reason));
            }

            return probe;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            var (response, failure) = await SendAsync(source, static request => request.Headers.Range = new RangeHeaderValue(0, 0), timeout.Token);
            if (response is null)
            {
                return Failed(source, failure);
            }

            using (response)
            {
                var etag = response.Headers.ETag?.ToString();
                var lastModified = response.Content.Headers.LastModified;
                if (response.StatusCode == HttpStatusCode.PartialContent)
                {
                    var range = response.Content.Headers.ContentRange;
                    if (range?.Length is not long length || range.From != 0)
                    {
                        return Failed(source, new(UpstreamStatus.BadResponse, $"206 without a usable Content-Range ('{range}')"));
                    }

                    return new UpstreamProbe(UpstreamStatus.Ok, length, etag, lastModified, RangeSupported: true, null);
                }

                if (response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentLength is long fullLength)
                {
                    return new UpstreamProbe(UpstreamStatus.Ok, fullLength, etag, lastModified, RangeSupported: false, null);
                }

                // An empty file answers a range request with 416 and Content-Range: bytes */0.
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && response.Content.Headers.ContentRange?.Length == 0)
                {
                    return new UpstreamProbe(UpstreamStatus.Ok, 0, etag, lastModified, RangeSupported: true, null);
                }

                return Failed(source, new(UpstreamStatus.BadResponse, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}"));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(source, new(UpstreamStatus.TimedOut, $"no answer within {_options.Timeout.TotalSeconds:0.#} s"));
        }
    }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/> of <paramref name="version"/>,
    /// failing with <see cref="UpstreamStatus.VersionChanged"/> rather than returning bytes of another version.
    /// </summary>
    public async Task<UpstreamRead> ReadAsync(IsoVersion version, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var end = offset + destination.Length - 1;
        try
        {
            if (version.Source.LocalPath is { } path)
            {
                if (RefuseClientFile(version.Source) is { } refused)
                {
                    return Log(version.Source, refused);
                }

                var read = await _files.ReadAsync(path, version, offset, destination, timeout.Token);
                return read.Status == UpstreamStatus.Ok ? read : Log(version.Source, read);
            }

            var (response, failure) = await SendAsync(
                version.Source,
                request =>
                {
                    request.Headers.Range = new RangeHeaderValue(offset, end);
                    AddValidators(request, version);
                },
                timeout.Token);
            if (response is null)
            {
                return Log(version.Source, failure);
            }

            using (response)
            {
                var mismatch = CheckSameVersion(response, version);
                if (mismatch is not null)
                {
                    return Log(version.Source, new(UpstreamStatus.VersionChanged, mismatch));
                }

                var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
                await using (stream)
                {
                    if (response.StatusCode == HttpStatusCode.PartialContent)
                    {
                        var range = response.Content.Headers.ContentRange;
                        if (range?.From != offset || range.To != end)
                        {
                            return Log(version.Source, new(UpstreamStatus.BadResponse, $"asked for bytes {offset}-{end}, got Content-Range '{range}'"));
                        }
                    }
                    else if (response.StatusCode == HttpStatusCode.OK)
                    {
                        // No range support: the body is the whole ISO, so skip to the window and drop the rest.
                        await SkipAsync(stream, offset, timeout.Token);
                    }
                    else
                    {
                        return Log(version.Source, new(UpstreamStatus.BadResponse, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase} for bytes {offset}-{end}"));
                    }

                    await stream.ReadExactlyAsync(destination, timeout.Token);
                    return UpstreamRead.Ok;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Log(version.Source, new(UpstreamStatus.TimedOut, $"bytes {offset}-{end} not read within {_options.Timeout.TotalSeconds:0.#} s"));
        }
        catch (EndOfStreamException)
        {
            return Log(version.Source, new(UpstreamStatus.BadResponse, $"body ended before byte {end}"));
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return Log(version.Source, new(UpstreamStatus.Unreachable, $"connection broke while reading bytes {offset}-{end}: {ex.Message}"));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _clientSourceHttp.Dispose();
    }

    // MachineGrain never builds a client source naming a file; this keeps a client from reading the silo's files
    // even if one got through.
    private static UpstreamRead? RefuseClientFile(IsoSource source) =>
        source.Origin == IsoSourceOrigin.Operator
            ? null
            : new(UpstreamStatus.RedirectRejected, $"a client-supplied source may not name a local file ('{source.DisplayUrl}')");

    private static void AddValidators(HttpRequestMessage request, IsoVersion version)
    {
        // If-Match needs a strong tag (RFC 9110 §13.1.1); without one the date is the best guard we have.
        if (version.ETag is { } etag && !etag.StartsWith("W/", StringComparison.Ordinal))
        {
            request.Headers.TryAddWithoutValidation("If-Match", etag);
        }
        else if (version.LastModified is { } lastModified)
        {
            request.Headers.IfUnmodifiedSince = lastModified;
        }
    }

    private static string? CheckSameVersion(HttpResponseMessage response, IsoVersion version)
    {
        if (response.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return $"upstream answered {(int)response.StatusCode}: the ISO changed";
        }

        var length = response.StatusCode == HttpStatusCode.PartialContent
            ? response.Content.Headers.ContentRange?.Length
            : response.Content.Headers.ContentLength;
        if (length is long actual && actual != version.Length)
        {
            return $"length changed from {version.Length} to {actual}";
        }

        var etag = response.Headers.ETag?.ToString();
        if (version.ETag is not null && etag is not null && etag != version.ETag)
        {
            return $"ETag changed from {version.ETag} to {etag}";
        }

        return null;
    }

    private static async Task SkipAsync(Stream stream, long count, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(SkipBufferSize);
        try
        {
            while (count > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken);
                if (read == 0)
                {
                    throw new EndOfStreamException();
                }

                count -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<(HttpResponseMessage? Response, UpstreamRead Failure)> SendAsync(
        IsoSource source, Action<HttpRequestMessage> configure, CancellationToken cancellationToken)
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
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException ex) when (ex.InnerException is UpstreamAddressRefusedException refused)
            {
                return (null, new(UpstreamStatus.AddressRefused, refused.Message));
            }
            catch (HttpRequestException ex)
            {
                return (null, new(UpstreamStatus.Unreachable, $"{url.GetLeftPart(UriPartial.Authority)}: {ex.Message}"));
            }

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

    private UpstreamProbe Failed(IsoSource source, UpstreamRead failure)
    {
        Log(source, failure);
        return new UpstreamProbe(failure.Status, 0, null, null, false, failure.Reason);
    }

    private UpstreamRead Log(IsoSource source, UpstreamRead failure)
    {
        LogUpstreamFailed(_logger, source.DisplayUrl, failure.Status, failure.Reason);
        return failure;
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning, Message = "Upstream {Url} failed: {Status}: {Reason}")]
    private static partial void LogUpstreamFailed(ILogger logger, string url, UpstreamStatus status, string? reason);
}
