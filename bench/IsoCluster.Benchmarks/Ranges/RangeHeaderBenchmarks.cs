using System.Net.Http.Headers;
using BenchmarkDotNet.Attributes;
using IsoCluster.Gateway.Ranges;

namespace IsoCluster.Benchmarks.Ranges;

/// <summary>Which <c>Range</c> header a benchmark parses.</summary>
public enum RangeHeaderShape
{
    /// <summary>What BMCs send thousands of times per boot: one 64 KiB int-range.</summary>
    Typical,

    /// <summary>A suffix-range, the last 64 KiB.</summary>
    Suffix,

    /// <summary>Five range-specs with list whitespace, one open-ended; two of them coalesce.</summary>
    FiveRanges,
}

/// <summary>
/// <see cref="RangeHeader.Parse"/> against <see cref="RangeHeaderValue.TryParse(string, out RangeHeaderValue)"/> of
/// the same string. The peer only parses; <see cref="RangeHeader.Parse"/> also resolves the ranges against the ISO
/// length, drops unsatisfiable ones and coalesces, so a ratio near or below 1 means the extra work is free.
/// </summary>
[MemoryDiagnoser]
public class RangeHeaderBenchmarks
{
    // A HookOS-sized ISO; every range below is satisfiable against it.
    private const long IsoLength = 190L * 1024 * 1024;

    private const int MaxRanges = 16;

    private string _value = "";

    /// <summary>The header being parsed.</summary>
    [Params(RangeHeaderShape.Typical, RangeHeaderShape.Suffix, RangeHeaderShape.FiveRanges)]
    public RangeHeaderShape Shape { get; set; }

    /// <summary>Picks the header text for <see cref="Shape"/>.</summary>
    [GlobalSetup]
    public void Setup() => _value = Shape switch
    {
        RangeHeaderShape.Typical => "bytes=1048576-1114111",
        RangeHeaderShape.Suffix => "bytes=-65536",
        RangeHeaderShape.FiveRanges => "bytes=0-1023, 4096-8191,65536-131071, 131072-196607, 2097152-",
        _ => throw new InvalidOperationException($"Unknown shape {Shape}."),
    };

    /// <summary>The peer: System.Net.Http's parser of the same header.</summary>
    [Benchmark(Baseline = true)]
    public int HttpHeadersTryParse() =>
        RangeHeaderValue.TryParse(_value, out var parsed) ? parsed.Ranges.Count : -1;

    /// <summary>The gateway's parser, resolving against the ISO length.</summary>
    [Benchmark]
    public int Parse() => RangeHeader.Parse(_value, IsoLength, MaxRanges).Ranges.Count;
}
