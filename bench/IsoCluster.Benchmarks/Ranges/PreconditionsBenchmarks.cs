using BenchmarkDotNet.Attributes;
using IsoCluster.Gateway.Ranges;

namespace IsoCluster.Benchmarks.Ranges;

/// <summary>
/// <see cref="Preconditions.Evaluate"/> with the <c>If-Range</c> a BMC resuming a boot sends, against the request
/// without any conditional header (what most range requests look like).
/// </summary>
[MemoryDiagnoser]
public class PreconditionsBenchmarks
{
    // The shape of the gateway's ETag: "<version id>-<patch tag>".
    private const string ETag = "\"3f2a9c0d5e6b7a81-9c1d2e3f4a5b6c7d\"";

    private const string LastModifiedText = "Wed, 21 Oct 2015 07:28:00 GMT";

    private static readonly DateTimeOffset LastModified = new(2015, 10, 21, 7, 28, 0, TimeSpan.Zero);

    /// <summary>The peer: no conditional header at all.</summary>
    [Benchmark(Baseline = true)]
    public bool NoConditionalHeaders() =>
        Preconditions.Evaluate(null, null, null, null, null, ETag, LastModified).HonourRange;

    /// <summary><c>If-Range</c> with the current strong ETag (§13.1.5): the range is honoured.</summary>
    [Benchmark]
    public bool IfRangeETag() =>
        Preconditions.Evaluate(null, null, null, null, ETag, ETag, LastModified).HonourRange;

    /// <summary><c>If-Range</c> with the exact Last-Modified date: the range is honoured.</summary>
    [Benchmark]
    public bool IfRangeDate() =>
        Preconditions.Evaluate(null, null, null, null, LastModifiedText, ETag, LastModified).HonourRange;
}
