using System.IO.Pipelines;
using System.Text;
using IsoCluster.Gateway.Ranges;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Tests.Serving;

/// <summary>
/// DESIGN invariant 8 at the body: a retried piece is written exactly once, at its place; a piece that no retry
/// saves ends the body short, never with wrong bytes.
/// </summary>
public sealed class IsoBodyReaderRetryTests
{
    private const int ChunkSize = FakeChunks.ChunkSize;
    private const string Magic = "@@@@@@";
    private const string KernelParams = "k=1";
    private static readonly IsoVersion Version = new(
        new IsoSource("http://upstream.test/hook.iso", IsoSourceOrigin.Operator), "v1", 100, "\"e\"", null, ChunkSize, Magic.Length, true);

    // 100 bytes of upstream ISO with the magic string straddling the boundary of chunks 1 and 2 (offsets 29-34).
    private static readonly byte[] Upstream = Encoding.ASCII.GetBytes(
        string.Concat(Enumerable.Range(0, 100).Select(i => (char)('a' + (i % 26)))).Remove(29, Magic.Length).Insert(29, Magic));

    private static readonly byte[] Patched = Encoding.ASCII.GetBytes(
        Encoding.ASCII.GetString(Upstream).Replace(Magic, KernelParams.PadRight(Magic.Length), StringComparison.Ordinal));

    [Fact]
    public async Task WriteAsync_PiecesFailTransientlyOrHang_WritesEveryByteOnceAtItsPlace()
    {
        var chunks = new FakeChunks(Upstream, [29], Magic.Length);
        chunks.FailNext(1, new SiloUnavailableException("the silo holding chunk 1 died"));
        chunks.FailNext(1, new SiloUnavailableException("not yet declared dead"));
        chunks.HangNext(2);
        chunks.FailNext(5, new TimeoutException("no answer"));
        using var harness = new ClusterCallHarness(FastRetries());
        var reader = Reader(chunks, harness);
        var range = new ByteRange(5, 90);

        var (written, status) = await WriteAsync(reader, range);

        Assert.Equal(UpstreamStatus.Ok, status);
        Assert.Equal(Patched.AsSpan(5, 90).ToArray(), written);
        Assert.Equal(3, chunks.Attempts(1));
        Assert.Equal(2, chunks.Attempts(2));
        Assert.Equal(2, chunks.Attempts(5));
        Assert.Equal(1, chunks.Attempts(3));
    }

    [Fact]
    public async Task WriteAsync_RetriesExhaustedMidBody_ThrowsAfterWritingOnlyTheEarlierPieces()
    {
        var chunks = new FakeChunks(Upstream, [29], Magic.Length);
        chunks.FailAlways(3, new SiloUnavailableException("gone for good"));
        using var harness = new ClusterCallHarness(FastRetries());
        var reader = Reader(chunks, harness);
        var stream = new MemoryStream();
        var writer = PipeWriter.Create(stream);

        var failure = await Assert.ThrowsAsync<ClusterCallException>(async () => await reader.WriteAsync(writer, new ByteRange(5, 90), null));

        await writer.CompleteAsync();
        Assert.False(failure.TimedOut);
        Assert.Equal(4, failure.Attempts);

        // Chunks 0-2 (offsets 5 to 47) went out; nothing of chunk 3 or later, and nothing twice.
        Assert.Equal(Patched.AsSpan(5, (3 * ChunkSize) - 5).ToArray(), stream.ToArray());
    }

    [Fact]
    public async Task ReadFirstAsync_PieceFailsTransiently_ReturnsItForTheCallerToWrite()
    {
        var chunks = new FakeChunks(Upstream, [29], Magic.Length);
        chunks.FailNext(0, new SiloUnavailableException("gone"));
        using var harness = new ClusterCallHarness(FastRetries());
        var reader = Reader(chunks, harness);
        var range = new ByteRange(3, 40);

        var first = await reader.ReadFirstAsync(range, harness.Policy.StartDeadline());
        var (written, status) = await WriteAsync(reader, range, first);

        Assert.Equal(UpstreamStatus.Ok, status);
        Assert.Equal(Patched.AsSpan(3, 40).ToArray(), written);
        Assert.Equal(2, chunks.Attempts(0));
    }

    [Fact]
    public async Task WriteAsync_PooledChunksFailingTransiently_WritesThePatchedBytesAndReleasesEveryPiece()
    {
        // An embedded gateway's pieces lie in the silo cache's pooled buffers: each is given back once written, also
        // after a retry, so the pool never loses a buffer to a finished body and never reuses one still being written.
        var chunks = new FakeChunks(Upstream, [29], Magic.Length) { Pool = new ChunkBufferPool(ChunkSize, maxFree: 16) };
        chunks.FailNext(1, new SiloUnavailableException("the silo holding chunk 1 died"));
        chunks.HangNext(2);
        using var harness = new ClusterCallHarness(FastRetries());
        var reader = Reader(chunks, harness);

        var (written, status) = await WriteAsync(reader, new ByteRange(5, 90));

        Assert.Equal(UpstreamStatus.Ok, status);
        Assert.Equal(Patched.AsSpan(5, 90).ToArray(), written);
        Assert.Equal(0, chunks.StillHeld());
    }

    private static ClusterCallOptions FastRetries() => new()
    {
        MaxAttempts = 4,
        AttemptTimeout = TimeSpan.FromMilliseconds(200),
        TotalDeadline = TimeSpan.FromSeconds(3),
        BaseBackoff = TimeSpan.FromMilliseconds(5),
        MaxBackoff = TimeSpan.FromMilliseconds(20),
    };

    private static IsoBodyReader Reader(FakeChunks chunks, ClusterCallHarness harness) => new(
        FakeChunks.NearCache(chunks, harness, capacity: 0),
        harness.Policy,
        FakeChunks.Plan(Version, KernelParams),
        harness.Metrics,
        CancellationToken.None);

    private static async Task<(byte[] Written, UpstreamStatus Status)> WriteAsync(IsoBodyReader reader, ByteRange range, IsoPiece? first = null)
    {
        var stream = new MemoryStream();
        var writer = PipeWriter.Create(stream);
        var outcome = await reader.WriteAsync(writer, range, first);
        await writer.CompleteAsync();
        return (stream.ToArray(), outcome.Status);
    }
}
