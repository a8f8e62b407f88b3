using System.Diagnostics;
using System.Diagnostics.Metrics;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Upstream;

/// <summary>Which upstream read a measurement is of.</summary>
public enum UpstreamOperation
{
    /// <summary>A source ISO's length and validators (<see cref="UpstreamClient.ProbeAsync"/>).</summary>
    Probe = 0,

    /// <summary>One chunk's bytes (<see cref="UpstreamClient"/>).</summary>
    ChunkRead = 1,
}

/// <summary>
/// What a silo measures of its upstreams, by upstream host: reads and their outcome, failures, latency and bytes, plus a
/// trace span per read when tracing is on.
/// </summary>
/// <remarks>
/// A measurement spans one whole read as a grain waits for it (redirects and any retries inside
/// <see cref="UpstreamClient"/> included), so the figures say what the cluster waited for and how often it got nothing.
/// Each HTTP exchange underneath is measured again by .NET's own <c>System.Net.Http</c> meter
/// (<c>http.client.request.duration</c> by server address and status), exported beside these. The host comes from the
/// source URL (a local file is <c>file</c>); sources are operator URLs or allowlisted ones, so the tag stays bounded.
/// </remarks>
public sealed class UpstreamMetrics
{
    /// <summary>The trace source of the silo's own spans (upstream reads).</summary>
    public static readonly ActivitySource ActivitySource = new(GrainsMetrics.MeterName);

    // Seconds: a cached upstream answers in milliseconds, a cold one over a WAN in hundreds, a struggling one in the
    // upstream timeout (30 s by default).
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private static readonly KeyValuePair<string, object?> ProbeTag = new("isocluster.upstream.operation", "probe");
    private static readonly KeyValuePair<string, object?> ChunkReadTag = new("isocluster.upstream.operation", "chunk_read");

    private readonly TimeProvider _time;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _bytes;
    private readonly Histogram<double> _duration;

    /// <summary>Creates the instruments on the silo's meter.</summary>
    public UpstreamMetrics(IMeterFactory meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _time = time;
        var meter = meterFactory.Create(GrainsMetrics.MeterName);
        _requests = meter.CreateCounter<long>(
            "isocluster.upstream.requests",
            "{request}",
            "Upstream reads (probes of a source ISO, chunk reads), by upstream host, operation and outcome.");
        _errors = meter.CreateCounter<long>(
            "isocluster.upstream.errors",
            "{request}",
            "Upstream reads that failed after their last attempt, by upstream host, operation and error type.");
        _bytes = meter.CreateCounter<long>("isocluster.upstream.bytes", "By", "Bytes read from upstreams, by upstream host.");
        _duration = meter.CreateHistogram(
            "isocluster.upstream.duration",
            "s",
            "How long upstream reads took, by upstream host and operation.",
            tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
    }

    /// <summary>Starts measuring a read of <paramref name="source"/>; pass the result to <see cref="Stop"/>.</summary>
    public UpstreamMeasurement Start(IsoSource source, UpstreamOperation operation)
    {
        ArgumentNullException.ThrowIfNull(source);
        var host = HostOf(source);

        // Null unless a tracer listens: no span and no cost when tracing is off.
        var activity = ActivitySource.StartActivity(operation == UpstreamOperation.Probe ? "upstream probe" : "upstream chunk read");
        activity?.SetTag("server.address", host);
        activity?.SetTag("url.full", source.DisplayUrl);
        return new UpstreamMeasurement(host, operation, _time.GetTimestamp(), activity);
    }

    /// <summary>Records the outcome of a read started with <see cref="Start"/>.</summary>
    public void Stop(in UpstreamMeasurement measurement, UpstreamStatus status, long bytes)
    {
        var host = new KeyValuePair<string, object?>("server.address", measurement.Host);
        var operation = measurement.Operation == UpstreamOperation.Probe ? ProbeTag : ChunkReadTag;
        var outcome = StatusName(status);
        _requests.Add(1, host, operation, new KeyValuePair<string, object?>("isocluster.upstream.status", outcome));
        _duration.Record(_time.GetElapsedTime(measurement.Started).TotalSeconds, host, operation);
        if (status != UpstreamStatus.Ok)
        {
            _errors.Add(1, host, operation, new KeyValuePair<string, object?>("error.type", outcome));
        }

        if (bytes > 0)
        {
            _bytes.Add(bytes, host);
        }

        if (measurement.Activity is { } activity)
        {
            activity.SetTag("isocluster.upstream.status", outcome);
            if (status != UpstreamStatus.Ok)
            {
                activity.SetStatus(ActivityStatusCode.Error, outcome);
            }

            activity.Dispose();
        }
    }

    private static string HostOf(IsoSource source) =>
        source.Url.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? "file"
            : Uri.TryCreate(source.Url, UriKind.Absolute, out var uri) ? uri.Host : "unknown";

    // Fixed strings: an enum's ToString would allocate on every read.
    private static string StatusName(UpstreamStatus status) => status switch
    {
        UpstreamStatus.Ok => "ok",
        UpstreamStatus.Unreachable => "unreachable",
        UpstreamStatus.TimedOut => "timed_out",
        UpstreamStatus.BadResponse => "bad_response",
        UpstreamStatus.RedirectRejected => "redirect_rejected",
        UpstreamStatus.VersionChanged => "version_changed",
        UpstreamStatus.AddressRefused => "address_refused",
        UpstreamStatus.Busy => "busy",
        _ => "other",
    };
}

/// <summary>A read being measured: from <see cref="UpstreamMetrics.Start"/> to <see cref="UpstreamMetrics.Stop"/>.</summary>
public readonly record struct UpstreamMeasurement(string Host, UpstreamOperation Operation, long Started, Activity? Activity);
