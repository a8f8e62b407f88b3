using System.Text;
using BenchmarkDotNet.Attributes;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Benchmarks.SourceIso;

/// <summary>
/// <see cref="MagicStringScanner.FindOverlapping"/> over a 1 MiB window (one chunk, as a chunk grain scans after each
/// upstream fetch) against one <see cref="MemoryExtensions.IndexOf{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/> of the
/// same needle over the same window, the least any scan costs.
/// </summary>
/// <remarks>
/// When present, the occurrence is placed near the end of the window, so the single IndexOf of the peer scans
/// (almost) the whole window too and the two do comparable work.
/// </remarks>
[MemoryDiagnoser]
public class MagicStringScannerBenchmarks
{
    private const int WindowSize = 1024 * 1024;

    // Chunk 37 of an ISO, so offsets are large as in a real boot.
    private const long WindowStart = 37L * WindowSize;

    private readonly byte[] _magic = Encoding.ASCII.GetBytes(IsoOptions.HookOsMagicString);
    private byte[] _window = [];

    /// <summary>Whether the magic string occurs (once) in the window.</summary>
    [Params(false, true)]
    public bool Present { get; set; }

    /// <summary>Fills the window with random bytes and, when <see cref="Present"/>, one occurrence.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _window = new byte[WindowSize];
        new Random(42).NextBytes(_window);
        if (Present)
        {
            _magic.CopyTo(_window.AsSpan(WindowSize - _magic.Length - 1000));
        }

        var expected = Present ? 1 : 0;
        if (FindOverlapping() != expected)
        {
            throw new InvalidOperationException($"The window should hold {expected} occurrence(s).");
        }
    }

    /// <summary>The peer: one IndexOf of the magic string over the window.</summary>
    [Benchmark(Baseline = true)]
    public int IndexOf() => _window.AsSpan().IndexOf(_magic);

    /// <summary>The scanner, asked for occurrences overlapping the whole window.</summary>
    [Benchmark]
    public int FindOverlapping() =>
        MagicStringScanner.FindOverlapping(_window, WindowStart, _magic, WindowStart, WindowStart + WindowSize).Length;
}
