using System.Collections.Concurrent;
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
    private const int ChunkSize = 16;
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
        var chunks = new FakeChunks(Upstream, [29]);
        chunks.FailNext(1, new SiloUnavailableException("the silo holding chunk 1 died"));
        chunks.FailNext(1, new SiloUnavailableException("not yet declared dead"));
        chunks.HangNext(2);
        chunks.FailNext(5, new TimeoutException("no answer"));
        using var harness = new ClusterCallHarness(FastRetries());
        var reader = new IsoBodyReader(new FakeGrainFactory(chunks), harness.Policy, Version, Overlay(), "b4:96:91:6e:2c:10", CancellationToken.None);
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
        var chunks = new FakeChunks(Upstream, [29]);
        chunks.FailAlways(3, new SiloUnavailableException("gone for good"));
        using var harness = new ClusterCallHarness(FastRetries());
        var reader = new IsoBodyReader(new FakeGrainFactory(chunks), harness.Policy, Version, Overlay(), "b4:96:91:6e:2c:10", CancellationToken.None);
        var stream = new MemoryStream();
        var writer = PipeWriter.Create(stream);

        var failure = await Assert.ThrowsAsync<ClusterCallException>(() => reader.WriteAsync(writer, new ByteRange(5, 90), null));

        await writer.CompleteAsync();
        Assert.False(failure.TimedOut);
        Assert.Equal(4, failure.Attempts);

        // Chunks 0-2 (offsets 5 to 47) went out; nothing of chunk 3 or later, and nothing twice.
        Assert.Equal(Patched.AsSpan(5, (3 * ChunkSize) - 5).ToArray(), stream.ToArray());
    }

    [Fact]
    public async Task ReadFirstAsync_PieceFailsTransiently_ReturnsItForTheCallerToWrite()
    {
        var chunks = new FakeChunks(Upstream, [29]);
        chunks.FailNext(0, new SiloUnavailableException("gone"));
        using var harness = new ClusterCallHarness(FastRetries());
        var reader = new IsoBodyReader(new FakeGrainFactory(chunks), harness.Policy, Version, Overlay(), "b4:96:91:6e:2c:10", CancellationToken.None);
        var range = new ByteRange(3, 40);

        var first = await reader.ReadFirstAsync(range, harness.Policy.StartDeadline());
        var (written, status) = await WriteAsync(reader, range, first);

        Assert.Equal(UpstreamStatus.Ok, status);
        Assert.Equal(Patched.AsSpan(3, 40).ToArray(), written);
        Assert.Equal(2, chunks.Attempts(0));
    }

    private static ClusterCallOptions FastRetries() => new()
    {
        MaxAttempts = 4,
        AttemptTimeout = TimeSpan.FromMilliseconds(200),
        TotalDeadline = TimeSpan.FromSeconds(3),
        BaseBackoff = TimeSpan.FromMilliseconds(5),
        MaxBackoff = TimeSpan.FromMilliseconds(20),
    };

    private static PatchOverlay Overlay() => PatchOverlay.TryCreate(Encoding.ASCII.GetBytes(KernelParams), Magic.Length)!;

    private static async Task<(byte[] Written, UpstreamStatus Status)> WriteAsync(IsoBodyReader reader, ByteRange range, ChunkReadResult? first = null)
    {
        var stream = new MemoryStream();
        var writer = PipeWriter.Create(stream);
        var (status, _) = await reader.WriteAsync(writer, range, first);
        await writer.CompleteAsync();
        return (stream.ToArray(), status);
    }

    /// <summary>The chunk grains of <see cref="Version"/>, with scripted failures per chunk index.</summary>
    private sealed class FakeChunks(byte[] upstream, long[] occurrences)
    {
        private readonly ConcurrentDictionary<long, ConcurrentQueue<Exception?>> _script = new();
        private readonly ConcurrentDictionary<long, Exception> _always = new();
        private readonly ConcurrentDictionary<long, int> _attempts = new();

        public void FailNext(long index, Exception failure) => _script.GetOrAdd(index, _ => new()).Enqueue(failure);

        // A null step stands for a silo that does not answer: the attempt waits for its token.
        public void HangNext(long index) => _script.GetOrAdd(index, _ => new()).Enqueue(null);

        public void FailAlways(long index, Exception failure) => _always[index] = failure;

        public int Attempts(long index) => _attempts.GetValueOrDefault(index);

        public async ValueTask<ChunkReadResult> ReadAsync(long index, int offset, int count, CancellationToken cancellationToken)
        {
            _attempts.AddOrUpdate(index, 1, (_, n) => n + 1);
            await Task.Yield();
            if (_always.TryGetValue(index, out var always))
            {
                throw always;
            }

            if (_script.TryGetValue(index, out var steps) && steps.TryDequeue(out var step))
            {
                if (step is null)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                throw step!;
            }

            var start = (index * ChunkSize) + offset;
            return new ChunkReadResult(
                UpstreamStatus.Ok,
                upstream.AsMemory((int)start, count),
                [.. occurrences.Where(o => o < start + count && o + Magic.Length > start)],
                null);
        }
    }

    private sealed class FakeChunkGrain(FakeChunks chunks, long index) : IIsoChunkGrain
    {
        public ValueTask<ChunkReadResult> ReadAsync(IsoVersion version, int offset, int count, CancellationToken cancellationToken = default) =>
            chunks.ReadAsync(index, offset, count, cancellationToken);
    }

    /// <summary>Hands out <see cref="FakeChunkGrain"/>s by chunk key; nothing else is used by the reader.</summary>
    private sealed class FakeGrainFactory(FakeChunks chunks) : IGrainFactory
    {
        public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithStringKey
        {
            var index = long.Parse(primaryKey.AsSpan(primaryKey.LastIndexOf('/') + 1), System.Globalization.CultureInfo.InvariantCulture);
            return (TGrainInterface)(object)new FakeChunkGrain(chunks, index);
        }

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithGuidKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithIntegerKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string keyExtension, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithGuidCompoundKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string keyExtension, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithIntegerCompoundKey => throw new NotSupportedException();

        public TGrainObserverInterface CreateObjectReference<TGrainObserverInterface>(IGrainObserver obj)
            where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();

        public void DeleteObjectReference<TGrainObserverInterface>(IGrainObserver obj)
            where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, string grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey, string keyExtension) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey, string keyExtension) => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId)
            where TGrainInterface : IAddressable => throw new NotSupportedException();

        public IAddressable GetGrain(GrainId grainId) => throw new NotSupportedException();

        public IAddressable GetGrain(GrainId grainId, GrainInterfaceType interfaceType) => throw new NotSupportedException();

        public IAddressable GetGrain(Type interfaceType, IdSpan grainKey, string grainClassNamePrefix) => throw new NotSupportedException();

        public IAddressable GetGrain(Type interfaceType, IdSpan grainKey) => throw new NotSupportedException();
    }
}
