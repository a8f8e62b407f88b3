using System.Collections.Concurrent;
using System.Text;
using IsoCluster.Gateway.Caching;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;
using IsoCluster.TestSupport;

namespace IsoCluster.Gateway.Tests.Serving;

/// <summary>The chunk grains of one ISO version, chunk size <see cref="ChunkSize"/>, with scripted failures per chunk index.</summary>
internal sealed class FakeChunks(byte[] upstream, long[] occurrences, int magicLength)
{
    public const int ChunkSize = 16;

    /// <summary>A gateway chunk cache over these chunk grains, retrying through <paramref name="harness"/>'s policy.</summary>
    public static ChunkNearCache NearCache(FakeChunks chunks, ClusterCallHarness harness, long capacity, int maxFetches = 16) => new(
        new FakeGrainFactory(chunks),
        harness.Policy,
        harness.Metrics,
        harness.Time,
        Microsoft.Extensions.Options.Options.Create(new GatewayOptions { CacheSize = new ByteSize(capacity), MaxChunkFetches = maxFetches }));

    /// <summary>A plan as the boot plan cache would serve it, for a reader or an endpoint under test.</summary>
    public static ServedPlan Plan(IsoVersion version, string kernelParams)
    {
        var parameters = Encoding.ASCII.GetBytes(kernelParams);
        var plan = new BootPlan(version.Source, parameters, "tag");
        return new ServedPlan("b4:96:91:6e:2c:10", plan, version, PatchOverlay.TryCreate(parameters, version.MagicLength)!, 0);
    }

    private readonly ConcurrentDictionary<long, ConcurrentQueue<Step>> _script = new();
    private readonly ConcurrentDictionary<long, Exception> _always = new();
    private readonly ConcurrentDictionary<long, int> _attempts = new();

    public void FailNext(long index, Exception failure) => Enqueue(index, new Step(failure, Hang: false, TimeSpan.Zero, null));

    /// <summary>The next read of the chunk does not answer: the attempt waits for its token, as with a silo that hangs.</summary>
    public void HangNext(long index) => Enqueue(index, new Step(null, Hang: true, TimeSpan.Zero, null));

    /// <summary>The next read of the chunk answers, correctly, only after <paramref name="delay"/>.</summary>
    public void DelayNext(long index, TimeSpan delay) => Enqueue(index, new Step(null, Hang: false, delay, null));

    /// <summary>The next read of the chunk answers <paramref name="status"/> with no bytes, as a grain whose upstream failed.</summary>
    public void AnswerNext(long index, UpstreamStatus status) => Enqueue(index, new Step(null, Hang: false, TimeSpan.Zero, status));

    public void FailAlways(long index, Exception failure) => _always[index] = failure;

    public int Attempts(long index) => _attempts.GetValueOrDefault(index);

    /// <summary>The most reads that were in progress at once.</summary>
    public int MostInFlight => _inFlight.Most;

    private readonly ConcurrencyGauge _inFlight = new();

    /// <summary>
    /// When set, every read answers from a buffer of this pool with a reference taken for the caller, as an embedded
    /// silo's chunk grain does (whose cache has, at worst, already dropped its own).
    /// </summary>
    public ChunkBufferPool? Pool { get; init; }

    /// <summary>Every buffer handed out from <see cref="Pool"/>.</summary>
    public ConcurrentQueue<ChunkBuffer> Lent { get; } = new();

    /// <summary>Buffers handed out whose last reference was not released yet (a probe that takes none).</summary>
    public int StillHeld() => Lent.Count(buffer => IsHeld(buffer));

    public async ValueTask<ChunkReadResult> ReadAsync(long index, int offset, int count, CancellationToken cancellationToken)
    {
        _inFlight.Enter();
        try
        {
            return await ReadScriptedAsync(index, offset, count, cancellationToken);
        }
        finally
        {
            _inFlight.Exit();
        }
    }

    private async ValueTask<ChunkReadResult> ReadScriptedAsync(long index, int offset, int count, CancellationToken cancellationToken)
    {
        _attempts.AddOrUpdate(index, 1, (_, n) => n + 1);
        await Task.Yield();
        if (_always.TryGetValue(index, out var always))
        {
            throw always;
        }

        if (_script.TryGetValue(index, out var steps) && steps.TryDequeue(out var step))
        {
            if (step.Hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            await Task.Delay(step.Delay, CancellationToken.None);
            if (step.Failure is not null)
            {
                throw step.Failure;
            }

            if (step.Answer is { } status)
            {
                return new ChunkReadResult(status, ReadOnlyMemory<byte>.Empty, [], $"scripted {status}");
            }
        }

        var start = (index * ChunkSize) + offset;
        var length = (int)Math.Min(count, upstream.Length - start);
        if (Pool is { } pool)
        {
            var buffer = pool.Rent(length);
            upstream.AsSpan((int)start, length).CopyTo(buffer.Array);
            Lent.Enqueue(buffer);
            return new ChunkReadResult(
                UpstreamStatus.Ok,
                buffer.Array.AsMemory(0, length),
                [.. occurrences.Where(o => o < start + length && o + magicLength > start)],
                null)
            {
                Lease = buffer,
            };
        }

        return new ChunkReadResult(
            UpstreamStatus.Ok,
            upstream.AsMemory((int)start, length),
            [.. occurrences.Where(o => o < start + length && o + magicLength > start)],
            null);
    }

    // Taking a reference succeeds only while one is held; the probe gives it straight back.
    private static bool IsHeld(ChunkBuffer buffer)
    {
        if (!buffer.TryRetain())
        {
            return false;
        }

        buffer.Release();
        return true;
    }

    private void Enqueue(long index, Step step) => _script.GetOrAdd(index, _ => new()).Enqueue(step);

    private readonly record struct Step(Exception? Failure, bool Hang, TimeSpan Delay, UpstreamStatus? Answer);
}

internal sealed class FakeChunkGrain(FakeChunks chunks, long index) : IIsoChunkGrain
{
    public ValueTask<ChunkReadResult> ReadAsync(IsoVersion version, int offset, int count, CancellationToken cancellationToken = default) =>
        chunks.ReadAsync(index, offset, count, cancellationToken);
}

/// <summary>Hands out the grain <paramref name="byKey"/> makes for a string key; nothing else is used by the gateway.</summary>
internal sealed class FakeGrainFactory(Func<string, IAddressable> byKey) : IGrainFactory
{
    /// <summary>The chunk grains of <paramref name="chunks"/>, by chunk key.</summary>
    public FakeGrainFactory(FakeChunks chunks)
        : this(key => new FakeChunkGrain(chunks, long.Parse(key.AsSpan(key.LastIndexOf('/') + 1), System.Globalization.CultureInfo.InvariantCulture)))
    {
    }

    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null)
        where TGrainInterface : IGrainWithStringKey => (TGrainInterface)byKey(primaryKey);

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
