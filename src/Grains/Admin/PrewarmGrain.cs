using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// Runs one prewarm: reads each chunk of the source ISO's current version through its chunk grain, exactly as a boot's
/// first read of it would, so the fetch, the magic-string scan and the cache admission are the boot path's own.
/// </summary>
/// <remarks>
/// A few chunks at a time (<see cref="Concurrency"/>): a prewarm runs beside boots and must neither take the upstream
/// fetch slots they need nor flood the upstream. An ISO larger than the cluster's cache is warmed only as far as the
/// cache holds it, from its start (where every boot begins), with a warning; warming all of it would evict its own first
/// chunks and everything else cached.
/// </remarks>
[CollectionAgeLimit(Minutes = 60)]
internal sealed partial class PrewarmGrain : Grain, IPrewarmGrain
{
    /// <summary>Chunk fetches one prewarm keeps in flight.</summary>
    internal const int Concurrency = 4;

    private readonly PrewarmSource _sources;
    private readonly TimeProvider _time;
    private readonly ILogger<PrewarmGrain> _logger;
    private PrewarmProgress? _progress;

    public PrewarmGrain(PrewarmSource sources, TimeProvider time, ILogger<PrewarmGrain> logger)
    {
        _sources = sources;
        _time = time;
        _logger = logger;
    }

    public async Task<AdminResult<PrewarmProgress>> StartAsync(string? sourceIso)
    {
        if (_progress is not null)
        {
            return AdminResult.Ok(_progress);
        }

        if (_sources.Resolve(sourceIso, out var reason) is not { } source)
        {
            DeactivateOnIdle();
            return AdminResult.Fail<PrewarmProgress>(AdminStatus.BadRequest, reason);
        }

        var current = await GrainFactory.GetGrain<ISourceIsoGrain>(source.GrainKey).GetVersionAsync();
        if (current.Version is not { } version)
        {
            DeactivateOnIdle();
            return AdminResult.Fail<PrewarmProgress>(AdminStatus.UpstreamFailed, $"source ISO {source.DisplayUrl}: {current.Status}: {current.Reason}");
        }

        CacheReport cache;
        try
        {
            cache = await ClusterCache.ReportAsync(GrainFactory, _time, _logger, CancellationToken.None);
        }
        catch (Exception ex)
        {
            DeactivateOnIdle();
            return AdminResult.Fail<PrewarmProgress>(AdminStatus.Unavailable, $"cluster unreachable: the silo list could not be read: {ex.Message}");
        }

        // A silo that did not answer adds nothing: better to warm too little than to evict what was warmed.
        var capacity = cache.Silos.Sum(silo => silo.BudgetBytes);

        // Each cached chunk also holds the magic string's length on either side (IsoChunkGrain's fetch window).
        var chunkCharge = version.ChunkSize + (2L * (version.MagicLength - 1));
        var chunks = version.ChunkCount;
        string? warning = null;
        if (chunks * chunkCharge > capacity)
        {
            chunks = capacity / chunkCharge;
            warning = $"the ISO ({version.Length} bytes) is larger than the cluster's chunk cache ({capacity} bytes over {cache.Silos.Count(silo => silo.Error is null)} silos, --cache-size each); only its first {chunks} chunks are warmed";
            LogTooLarge(_logger, source.DisplayUrl, version.Length, capacity, chunks);
        }

        var id = this.GetPrimaryKeyString();
        _progress = new PrewarmProgress(id, source.DisplayUrl, version.Id, version.Length, chunks, 0, 0, PrewarmState.Running, null, warning);
        LogStarted(_logger, id, source.DisplayUrl, version.Id, chunks);

        // Runs on this activation's scheduler between its calls; progress reads see it advance.
        _ = RunAsync(version, chunks);
        return AdminResult.Ok(_progress);
    }

    public ValueTask<PrewarmProgress?> GetProgressAsync()
    {
        if (_progress is null)
        {
            // Any id can be asked for; an unknown one must not leave an activation behind.
            DeactivateOnIdle();
        }

        return ValueTask.FromResult(_progress);
    }

    private async Task RunAsync(IsoVersion version, long chunks)
    {
        var progress = _progress!;
        string? error = null;
        var next = 0L;
        var inFlight = new List<Task<(long Index, ChunkReadResult Result)>>(Concurrency);
        try
        {
            while (error is null && (next < chunks || inFlight.Count > 0))
            {
                // Keeps the activation (and so the progress) alive however long the ISO takes.
                DelayDeactivation(TimeSpan.FromMinutes(10));
                while (next < chunks && inFlight.Count < Concurrency)
                {
                    inFlight.Add(WarmAsync(version, next++));
                }

                var finished = await Task.WhenAny(inFlight);
                inFlight.Remove(finished);
                var (index, result) = await finished;
                if (result.Status != UpstreamStatus.Ok)
                {
                    error = $"chunk {index} of {version.Source.DisplayUrl}: {result.Status}: {result.Reason}";
                    break;
                }

                var length = Math.Min(version.ChunkSize, version.Length - (index * version.ChunkSize));
                progress = progress with { ChunksDone = progress.ChunksDone + 1, BytesDone = progress.BytesDone + length };
                _progress = progress;
            }
        }
        catch (Exception ex)
        {
            error = $"{version.Source.DisplayUrl}: {ex.Message}";
        }

        // Fetches still in flight after a failure finish on their own; their chunks are simply cached.
        _progress = progress with { State = error is null ? PrewarmState.Done : PrewarmState.Failed, Error = error };
        if (error is null)
        {
            LogDone(_logger, progress.Id, progress.SourceIso, progress.ChunksDone, progress.BytesDone);
        }
        else
        {
            LogFailed(_logger, progress.Id, progress.SourceIso, error);
        }
    }

    private async Task<(long Index, ChunkReadResult Result)> WarmAsync(IsoVersion version, long index)
    {
        // A zero-length read fetches and caches the chunk like any first read, without carrying its bytes back here. On
        // this silo it still lends a reference to the cache's buffer, given back at once: nothing here reads the bytes.
        var result = await GrainFactory.GetGrain<IIsoChunkGrain>(version.ChunkKey(index)).ReadAsync(version, 0, 0);
        result.Lease?.Release();
        return (index, result);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Prewarm {Id} of {SourceIso} (version {VersionId}) started: {Chunks} chunks")]
    private static partial void LogStarted(ILogger logger, string id, string sourceIso, string versionId, long chunks);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Prewarm {Id} of {SourceIso} done: {Chunks} chunks, {Bytes} bytes cached")]
    private static partial void LogDone(ILogger logger, string id, string sourceIso, long chunks, long bytes);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Prewarm {Id} of {SourceIso} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string id, string sourceIso, string reason);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Source ISO {SourceIso} ({Length} bytes) is larger than the cluster's chunk cache ({CacheBytes} bytes); the prewarm warms its first {Chunks} chunks only")]
    private static partial void LogTooLarge(ILogger logger, string sourceIso, long length, long cacheBytes, long chunks);
}
