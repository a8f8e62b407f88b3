using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using IsoCluster.Grains.Upstream;
using Orleans.Concurrency;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// Owns one upstream ISO: reads its length and validators at most once per revalidation interval and names the
/// version whose chunks are served. Reentrant so that every reader waits on the same probe instead of queueing.
/// </summary>
[Reentrant]
internal sealed partial class SourceIsoGrain : Grain, ISourceIsoGrain
{
    private readonly UpstreamClient _upstream;
    private readonly UpstreamMetrics _upstreamMetrics;
    private readonly IsoOptions _isoOptions;
    private readonly int _chunkSize;
    private readonly TimeProvider _time;
    private readonly ILogger<SourceIsoGrain> _logger;
    private readonly IsoSource _source;
    private IsoVersion? _current;
    private long _checkedAt;
    private Task<IsoVersionResult>? _probe;

    public SourceIsoGrain(
        UpstreamClient upstream,
        UpstreamMetrics upstreamMetrics,
        IOptions<IsoOptions> isoOptions,
        IOptions<CacheOptions> cacheOptions,
        TimeProvider time,
        ILogger<SourceIsoGrain> logger)
    {
        _upstream = upstream;
        _upstreamMetrics = upstreamMetrics;
        _isoOptions = isoOptions.Value;
        _chunkSize = (int)cacheOptions.Value.ChunkSize.Bytes;
        _time = time;
        _logger = logger;
        _source = IsoSource.FromGrainKey(this.GetPrimaryKeyString());
    }

    public ValueTask<IsoVersionResult> GetVersionAsync(CancellationToken cancellationToken = default)
    {
        if (_current is not null && _time.GetElapsedTime(_checkedAt) < _isoOptions.RevalidateInterval)
        {
            return ValueTask.FromResult(new IsoVersionResult(UpstreamStatus.Ok, _current, null));
        }

        if (_probe is { } inFlight)
        {
            return new ValueTask<IsoVersionResult>(inFlight);
        }

        // A loopback upstream can answer before the first await yields; a probe that completed synchronously has
        // already run its finally, and remembering it would serve its result forever.
        var probe = ProbeAsync();
        if (!probe.IsCompleted)
        {
            _probe = probe;
        }

        return new ValueTask<IsoVersionResult>(probe);
    }

    public Task InvalidateAsync(string versionId)
    {
        if (_current?.Id == versionId)
        {
            LogVersionInvalidated(_logger, _source.DisplayUrl, versionId);
            _current = null;
        }

        return Task.CompletedTask;
    }

    private async Task<IsoVersionResult> ProbeAsync()
    {
        try
        {
            // A revalidation has the last good version to fall back on, so it makes one attempt: retrying would only hold
            // back every new boot's first read while the upstream is in trouble. A first probe has nothing to fall back
            // on and is retried within the upstream retry deadline.
            var measurement = _upstreamMetrics.Start(_source, UpstreamOperation.Probe);
            var probe = await _upstream.ProbeAsync(_source, retry: _current is null, CancellationToken.None);
            _upstreamMetrics.Stop(measurement, probe.Status, 0);
            if (probe.Status != UpstreamStatus.Ok)
            {
                // Stale-if-error (RFC 5861 §4): while the upstream is down, overloaded or answering 5xx, cached chunks of
                // the last good version carry boots through. Only a definite answer (404, a refused redirect) drops it.
                if (_current is not null && (probe.Transient || probe.Status is UpstreamStatus.Unreachable or UpstreamStatus.TimedOut))
                {
                    LogServingStale(_logger, _source.DisplayUrl, _current.Id, probe.Status, probe.Reason);
                    _checkedAt = _time.GetTimestamp();
                    return new IsoVersionResult(UpstreamStatus.Ok, _current, null);
                }

                _current = null;
                return new IsoVersionResult(probe.Status, null, probe.Reason);
            }

            var version = new IsoVersion(
                _source,
                VersionId(probe),
                probe.Length,
                probe.ETag,
                probe.LastModified,
                _chunkSize,
                _isoOptions.MagicString.Length,
                probe.RangeSupported);
            if (version.Id != _current?.Id)
            {
                LogVersionFound(_logger, _source.DisplayUrl, version.Id, version.Length, version.ETag);
                if (!version.RangeSupported)
                {
                    LogNoRangeSupport(_logger, _source.DisplayUrl);
                }
            }

            _current = version;
            _checkedAt = _time.GetTimestamp();
            return new IsoVersionResult(UpstreamStatus.Ok, version, null);
        }
        finally
        {
            _probe = null;
        }
    }

    // Everything that changes the bytes served or how they are cut goes into the id, and so into chunk keys and ETags.
    private string VersionId(UpstreamProbe probe)
    {
        var identity = string.Join(
            '\n',
            _source.GrainKey,
            probe.ETag ?? "",
            probe.LastModified?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) ?? "",
            probe.Length.ToString(CultureInfo.InvariantCulture),
            _chunkSize.ToString(CultureInfo.InvariantCulture),
            _isoOptions.MagicString);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)).AsSpan(0, 8));
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Source ISO {Url} is version {VersionId}: {Length} bytes, ETag {ETag}")]
    private static partial void LogVersionFound(ILogger logger, string url, string versionId, long length, string? etag);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Source ISO {Url} does not support range requests: every chunk fetch reads the ISO from its start")]
    private static partial void LogNoRangeSupport(ILogger logger, string url);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Source ISO {Url} could not be revalidated ({Status}: {Reason}); version {VersionId} is served until the next check")]
    private static partial void LogServingStale(ILogger logger, string url, string versionId, UpstreamStatus status, string? reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Source ISO {Url} version {VersionId} changed upstream; its version is read again")]
    private static partial void LogVersionInvalidated(ILogger logger, string url, string versionId);
}
