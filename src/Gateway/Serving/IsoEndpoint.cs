using System.Buffers;
using IsoCluster.Gateway.BootReports;
using IsoCluster.Gateway.Caching;
using IsoCluster.Gateway.Ranges;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Options;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// Serves <c>GET</c>/<c>HEAD /iso/{mac}/{name}.iso</c>: the upstream ISO with the machine's kernel parameters
/// laid over the magic string, with RFC 9110 range and conditional semantics.
/// </summary>
/// <remarks>
/// The request pipeline, top to bottom:
/// 0. Admission: past <see cref="GatewayOptions.MaxConcurrentRequests"/> in flight, an immediate 503 with Retry-After.
/// 1. Method and path: 405 for other methods, 404 for other path shapes or names not ending in .iso, 400 for a bad MAC.
/// 2. Boot plan from the machine's grain, through <see cref="BootPlanCache"/> (a young plan needs no grain call):
///    source ISO and kernel parameters (404/400/403/503/500).
/// 3. ... with the source ISO version pinned for the machine's boot (502/504 when the upstream fails).
///    Every grain read goes through <see cref="ClusterCallPolicy"/>: a silo lost or an attempt timed out is retried,
///    steps 2-6 within one deadline, so only a read that no retry could save becomes a 503/504.
/// 4. Validators and preconditions: per-machine, per-version strong ETag; 304 and 412.
/// 5. Range: 200, 206 (single or multipart/byteranges) or 416.
/// 6. First bytes read before any header is sent, so an upstream failure is still a clean 5xx.
/// 7. Body streamed chunk by chunk from <see cref="ChunkNearCache"/> with the next chunk prefetched; never the whole
///    ISO in memory.
/// From step 2 on, every answer is added to the machine's boot progress in memory (<see cref="BootReadTracker"/>), which
/// reaches its grain in a report about a second later: no grain call per request.
/// </remarks>
internal sealed partial class IsoEndpoint
{
    private const string IsoContentType = "application/x-iso9660-image";

    private readonly BootPlanCache _plans;
    private readonly ChunkNearCache _chunks;
    private readonly ContentRangeCache _contentRanges;
    private readonly RequestAdmission _admission;
    private readonly ClusterCallPolicy _calls;
    private readonly IGrainFactory _grains;
    private readonly GatewayOptions _options;
    private readonly GatewayMetrics _metrics;
    private readonly BootReadTracker _boots;
    private readonly ILogger<IsoEndpoint> _logger;

    public IsoEndpoint(
        BootPlanCache plans,
        ChunkNearCache chunks,
        ContentRangeCache contentRanges,
        RequestAdmission admission,
        ClusterCallPolicy calls,
        IGrainFactory grains,
        IOptions<GatewayOptions> options,
        GatewayMetrics metrics,
        BootReadTracker boots,
        ILogger<IsoEndpoint> logger)
    {
        _plans = plans;
        _chunks = chunks;
        _contentRanges = contentRanges;
        _admission = admission;
        _calls = calls;
        _grains = grains;
        _options = options.Value;
        _metrics = metrics;
        _boots = boots;
        _logger = logger;
    }

    /// <summary>The path every ISO request starts with: <c>/iso/{mac}/{name}.iso</c>.</summary>
    public static readonly PathString PathPrefix = "/iso";

    /// <summary>Answers a request whose path starts with <see cref="PathPrefix"/>.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var aborted = context.RequestAborted;

        // 0. Admission, released when this method returns: the response is complete (or abandoned) by then.
        using var admitted = _admission.TryEnter();
        if (!admitted.Admitted)
        {
            await WriteErrorAsync(context, _admission.Overloaded);
            return;
        }

        // 1. Method and path, read from the path's text: no strings are made for its parts.
        if (!IsGet(request.Method) && !IsHead(request.Method))
        {
            response.Headers.Allow = "GET, HEAD";
            await WriteErrorAsync(context, IsoFailure.MethodNotAllowed(request.Method));
            return;
        }

        var path = request.Path.Value.AsSpan(PathPrefix.Value!.Length);
        var separator = path.Length > 1 ? path[1..].IndexOf('/') + 1 : 0;
        if (separator <= 1 || path[0] != '/' || path[(separator + 1)..].Contains('/'))
        {
            await WriteErrorAsync(context, IsoFailure.NotAnIsoPath());
            return;
        }

        var mac = path[1..separator];
        var file = path[(separator + 1)..];
        if (!file.EndsWith(".iso", StringComparison.OrdinalIgnoreCase))
        {
            await WriteErrorAsync(context, IsoFailure.NotAnIso(file));
            return;
        }

        if (!MacAddress.TryParse(mac, out var machine, out var macError))
        {
            await WriteErrorAsync(context, IsoFailure.BadMac(macError));
            return;
        }

        // Nothing is sent before the first bytes are in hand, so the plan and the first piece share the BMC's wait.
        var deadline = _calls.StartDeadline();
        string? sourceIso = null;
        ServedPlan plan;
        try
        {
            // 2-3. Boot plan and the source ISO version pinned for this machine's boot, cached for a moment.
            if (request.QueryString.HasValue && request.Query.TryGetValue("sourceISO", out var values))
            {
                sourceIso = values[0];
            }

            var lookup = await _plans.GetAsync(machine, sourceIso, deadline, aborted);
            if (lookup.Plan is null)
            {
                var refused = lookup.Refused!;
                var failure = refused.Status == BootPlanStatus.UpstreamFailed
                    ? IsoFailure.From(refused.UpstreamStatus, refused.Reason)
                    : IsoFailure.From(refused.Status, refused.Reason, machine.ToString());
                if (refused.Status != BootPlanStatus.HardwareNotFound)
                {
                    _boots.Failed(machine, refused.Plan?.Source, failure);
                }

                await FailAsync(context, machine.ToString(), refused.Plan?.Source, failure);
                return;
            }

            plan = lookup.Plan;
        }
        catch (ClusterCallException ex)
        {
            await FailWithoutPlanAsync(context, machine, IsoFailure.From(ex));
            return;
        }
        catch (TimeoutException)
        {
            await FailWithoutPlanAsync(context, machine, IsoFailure.ClusterTimeout("boot plan or ISO version"));
            return;
        }
        catch (OrleansException ex)
        {
            await FailWithoutPlanAsync(context, machine, IsoFailure.ClusterUnavailable(ex.GetType().Name));
            return;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            LogClientGone(_logger, machine);
            return;
        }

        var macText = plan.Mac;
        var version = plan.Version;
        var reads = _boots.For(machine, plan);

        // 4. Validators and preconditions.
        var etag = plan.ETag;
        var headers = response.Headers;
        headers.AcceptRanges = "bytes";
        headers.ETag = etag;
        if (plan.LastModified is { } lastModified)
        {
            headers.LastModified = lastModified;
        }

        var requestHeaders = request.Headers;
        var preconditions = Preconditions.Evaluate(
            requestHeaders.IfMatch,
            requestHeaders.IfUnmodifiedSince,
            requestHeaders.IfNoneMatch,
            requestHeaders.IfModifiedSince,
            requestHeaders.IfRange,
            etag,
            version.LastModified);
        if (preconditions.Outcome == PreconditionOutcome.NotModified)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            _metrics.RequestServed(StatusCodes.Status304NotModified);
            reads.Answered(ReadOutcome.Success, _boots.UtcNow);
            return;
        }

        if (preconditions.Outcome == PreconditionOutcome.PreconditionFailed)
        {
            reads.Answered(ReadOutcome.Neither, _boots.UtcNow);
            await WriteErrorAsync(context, IsoFailure.PreconditionFailed());
            return;
        }

        // 5. Range.
        var ranges = preconditions.HonourRange
            ? RangeHeader.Parse(requestHeaders.Range, version.Length, _options.MaxRanges)
            : RangeRequest.Full;
        if (ranges.Kind == RangeRequestKind.Unsatisfiable)
        {
            headers.ContentRange = ByteRange.UnsatisfiedContentRange(version.Length);
            reads.Answered(ReadOutcome.Neither, _boots.UtcNow);
            await WriteErrorAsync(context, IsoFailure.RangeNotSatisfiable(version.Length));
            return;
        }

        var reader = new IsoBodyReader(_chunks, _calls, plan, _metrics, aborted, reads);
        MultipartByteRanges? multipart = null;
        ByteRange first;
        if (ranges.Kind == RangeRequestKind.Full)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = IsoContentType;
            response.ContentLength = version.Length;
            first = new ByteRange(0, version.Length);
        }
        else if (ranges.Count == 1)
        {
            first = ranges.First;
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.ContentType = IsoContentType;
            response.ContentLength = first.Length;
            headers.ContentRange = _contentRanges.Get(first, version.Length);
        }
        else
        {
            multipart = new MultipartByteRanges(ranges.Ranges, IsoContentType, version.Length);
            first = ranges.First;
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.ContentType = multipart.ContentType;
            response.ContentLength = multipart.ContentLength;
        }

        if (IsHead(request.Method) || version.Length == 0)
        {
            _metrics.RequestServed(response.StatusCode);
            reads.Answered(ReadOutcome.Success, _boots.UtcNow);
            return;
        }

        // 6. First bytes before headers.
        IsoPiece firstPiece;
        try
        {
            firstPiece = await reader.ReadFirstAsync(first, deadline);
        }
        catch (ClusterCallException ex)
        {
            headers.ContentRange = default;
            await FailAsync(context, macText, plan.Plan.Source, IsoFailure.From(ex), reads);
            return;
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            headers.ContentRange = default;
            await FailAsync(context, macText, plan.Plan.Source, ex is TimeoutException ? IsoFailure.ClusterTimeout("chunk read") : IsoFailure.ClusterUnavailable(ex.GetType().Name), reads);
            return;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            LogClientGone(_logger, machine);
            reads.Answered(ReadOutcome.Neither, _boots.UtcNow);
            return;
        }

        if (firstPiece.Status != UpstreamStatus.Ok)
        {
            await InvalidateIfChangedAsync(machine, sourceIso, plan, firstPiece.Status);
            headers.ContentRange = default;
            await FailAsync(context, macText, plan.Plan.Source, IsoFailure.From(firstPiece.Status, firstPiece.Reason), reads);
            return;
        }

        // 7. Body.
        var writer = response.BodyWriter;
        try
        {
            // Headers into the output first: body bytes written before the response has started are held aside by
            // Kestrel and copied once more behind the headers (a third of this path's copying, measured).
            await response.StartAsync(aborted);
            IsoPiece outcome;
            if (multipart is null)
            {
                outcome = await reader.WriteAsync(writer, first, firstPiece);
            }
            else
            {
                outcome = IsoPiece.Done;
                var parts = multipart.Parts;
                for (var i = 0; i < parts.Count && outcome.Status == UpstreamStatus.Ok; i++)
                {
                    writer.Write(parts[i].Header.Span);
                    outcome = await reader.WriteAsync(writer, parts[i].Range, i == 0 ? firstPiece : null);
                }

                if (outcome.Status == UpstreamStatus.Ok)
                {
                    writer.Write(multipart.Trailer.Span);
                    await writer.FlushAsync(aborted);
                }
            }

            if (outcome.Status != UpstreamStatus.Ok)
            {
                await InvalidateIfChangedAsync(machine, sourceIso, plan, outcome.Status);
                LogBootFailedMidBody(_logger, macText, plan.Plan.Source.DisplayUrl, outcome.Status, outcome.Reason);
                _metrics.RequestServed(StatusCodes.Status502BadGateway);
                reads.Answered(ReadOutcome.Failure, _boots.UtcNow, IsoFailure.CutShort(IsoFailure.From(outcome.Status, outcome.Reason)));
                context.Abort();
                return;
            }

            _metrics.RequestServed(response.StatusCode);
            reads.Answered(ReadOutcome.Success, _boots.UtcNow);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException || aborted.IsCancellationRequested)
        {
            LogClientGone(_logger, machine);
            reads.Answered(ReadOutcome.Neither, _boots.UtcNow);
        }
        catch (Exception ex) when (ex is ClusterCallException or TimeoutException or OrleansException)
        {
            // Headers are out and the retries are spent: the only honest signal left is a connection that ends short of
            // Content-Length.
            LogBootFailedMidBody(_logger, macText, plan.Plan.Source.DisplayUrl, UpstreamStatus.Unreachable, ex.Message);
            _metrics.RequestServed(StatusCodes.Status502BadGateway);
            reads.Answered(ReadOutcome.Failure, _boots.UtcNow, IsoFailure.CutShort(IsoFailure.ClusterUnavailable(ex.GetType().Name)));
            context.Abort();
        }
    }

    // The upstream moved on: this boot cannot be finished consistently, so the next request starts a new one.
    private async Task InvalidateIfChangedAsync(MacAddress machine, string? sourceIso, ServedPlan plan, UpstreamStatus status)
    {
        if (status == UpstreamStatus.VersionChanged)
        {
            var version = plan.Version;
            _plans.Forget(machine, sourceIso);
            _chunks.ForgetVersion(version.Id);
            await _grains.GetGrain<IMachineGrain>(plan.Mac).ReleaseVersionAsync(version.Id);
            await _grains.GetGrain<ISourceIsoGrain>(version.Source.GrainKey).InvalidateAsync(version.Id);
        }
    }

    // A cluster failure before the plan. The machine's grain keeps it only if the MAC has Hardware, so a MAC named by
    // anyone during an outage is not put on record.
    private Task FailWithoutPlanAsync(HttpContext context, MacAddress machine, IsoFailure failure)
    {
        _boots.Failed(machine, null, failure);
        return FailAsync(context, machine.ToString(), null, failure);
    }

    private async Task FailAsync(HttpContext context, string mac, IsoSource? source, IsoFailure failure, MachineReads? reads = null)
    {
        reads?.Answered(ReadOutcome.Failure, _boots.UtcNow, failure);
        // The log line carries the detail (a Hardware file's path, an upstream's own error) that the client's reason leaves out.
        if (failure.IsServerSide)
        {
            LogBootFailed(_logger, mac, source?.DisplayUrl, failure.StatusCode, failure.LogText);
        }
        else
        {
            LogRequestRefused(_logger, mac, source?.DisplayUrl, failure.StatusCode, failure.LogText);
        }

        await WriteErrorAsync(context, failure);
    }

    private async Task WriteErrorAsync(HttpContext context, IsoFailure failure)
    {
        _metrics.RequestServed(failure.StatusCode);
        var response = context.Response;
        response.StatusCode = failure.StatusCode;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers.ETag = default;
        response.Headers.LastModified = default;
        if (failure.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = retryAfter;
        }

        var body = failure.ToBody();
        response.ContentLength = body.Length;
        if (IsHead(context.Request.Method))
        {
            return;
        }

        try
        {
            await response.Body.WriteAsync(body, context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client left; nothing to tell it.
        }
    }

    // RFC 9110 §9.1: methods are case-sensitive, and Kestrel frames the response by the exact method: "head" is not HEAD
    // and its response must carry the body. HttpMethods.IsGet/IsHead ignore case, so a "head" request got HEAD's empty
    // body under a full Content-Length, which Kestrel turned into a 500 (found by the fuzz test). Kestrel interns the
    // known methods, so the reference check inside string.Equals usually decides.
    private static bool IsGet(string method) => string.Equals(method, HttpMethods.Get, StringComparison.Ordinal);

    internal static bool IsHead(string method) => string.Equals(method, HttpMethods.Head, StringComparison.Ordinal);

    [LoggerMessage(EventId = 3000, Level = LogLevel.Error, Message = "Boot request for {Mac} failed with {StatusCode} (source {SourceUrl}): {Reason}")]
    private static partial void LogBootFailed(ILogger logger, string mac, string? sourceUrl, int statusCode, string reason);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Boot request for {Mac} refused with {StatusCode} (source {SourceUrl}): {Reason}")]
    private static partial void LogRequestRefused(ILogger logger, string mac, string? sourceUrl, int statusCode, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Boot request for {Mac} aborted mid-body (source {SourceUrl}): {Status}: {Reason}")]
    private static partial void LogBootFailedMidBody(ILogger logger, string mac, string sourceUrl, UpstreamStatus status, string? reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Client for {Mac} disconnected before the response was complete")]
    private static partial void LogClientGone(ILogger logger, MacAddress mac);
}
