using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Benchmarks.Serving;

/// <summary>
/// <see cref="PatchOverlay.Write"/> on one 64 KiB piece (the size a BMC asks for) against a plain copy of the
/// same piece into the same reused writer, which is the least any response body costs.
/// </summary>
[MemoryDiagnoser]
public class PatchOverlayBenchmarks
{
    private const int PieceSize = 64 * 1024;

    // Somewhere in the middle of an ISO, so offsets are large as in a real boot.
    private const long PieceOffset = 37L * 1024 * 1024;

    private readonly ArrayBufferWriter<byte> _writer = new(PieceSize);
    private readonly long[] _noOccurrences = [];
    private byte[] _piece = [];
    private long[] _straddling = [];
    private PatchOverlay _overlay = null!;

    /// <summary>Builds a random piece and a typical kernel command line padded to the HookOS magic length.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _piece = new byte[PieceSize];
        new Random(42).NextBytes(_piece);
        var kernelParams = Encoding.ASCII.GetBytes(
            "facility=dc1-hall2 console=ttyAMA0 console=ttyS0 console=tty0 console=tty1 console=ttyS1 vlan_id=400 " +
            "hw_addr=b4:96:91:6e:2c:10 syslog_host=10.0.0.5 grpc_authority=10.0.0.5:42113 tinkerbell_tls=false " +
            "worker_id=b4:96:91:6e:2c:10");
        _overlay = PatchOverlay.TryCreate(kernelParams, IsoOptions.HookOsMagicString.Length)
            ?? throw new InvalidOperationException("The kernel parameters do not fit the magic string.");

        // The occurrence starts 512 bytes before the piece ends, so half of it is in this piece and half in the next.
        _straddling = [PieceOffset + PieceSize - 512];
    }

    /// <summary>The peer: copying the piece unchanged.</summary>
    [Benchmark(Baseline = true)]
    public int Copy()
    {
        _writer.ResetWrittenCount();
        _writer.Write(_piece);
        return _writer.WrittenCount;
    }

    /// <summary>The piece with no occurrence in it, the case of almost every request of a boot.</summary>
    [Benchmark]
    public int WriteNoOccurrence()
    {
        _writer.ResetWrittenCount();
        _overlay.Write(_writer, _piece, PieceOffset, _noOccurrences);
        return _writer.WrittenCount;
    }

    /// <summary>The piece with one 1024-byte occurrence straddling its end.</summary>
    [Benchmark]
    public int WriteStraddlingOccurrence()
    {
        _writer.ResetWrittenCount();
        _overlay.Write(_writer, _piece, PieceOffset, _straddling);
        return _writer.WrittenCount;
    }
}
