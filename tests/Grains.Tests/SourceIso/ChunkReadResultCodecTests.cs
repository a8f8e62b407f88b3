using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace IsoCluster.Grains.Tests.SourceIso;

/// <summary>
/// A chunk read crossing processes: the sender's pooled buffer is given back once its bytes are in the message, and the
/// receiver's bytes land in a pooled buffer of its own, with a lease, in the wire format the generated codec used.
/// </summary>
public sealed class ChunkReadResultCodecTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddSerializer().AddIsoClusterSerialization().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    [Fact]
    public void RoundTrip_ResultWithALease_ReleasesTheSendersLeaseAndTheArrivedBytesHaveALeaseOfTheirOwn()
    {
        var serializer = _services.GetRequiredService<Serializer<ChunkReadResult>>();
        var pool = new ChunkBufferPool(arrayLength: 64, maxFree: 4);
        var buffer = pool.Rent(64);
        buffer.Array.AsSpan().Fill(42);
        var sent = new ChunkReadResult(UpstreamStatus.Ok, buffer.Array.AsMemory(8, 32), [5], null) { Lease = buffer };

        var message = serializer.SerializeToArray(sent);
        var arrived = serializer.Deserialize(message)!;

        Assert.False(buffer.TryRetain());
        Assert.Equal(1, pool.FreeCount);
        Assert.NotNull(arrived.Lease);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(arrived.Data, out var segment));
        Assert.Same(arrived.Lease.Array, segment.Array);
        Assert.Equal(Enumerable.Repeat((byte)42, 32), arrived.Data.ToArray());
        Assert.Equal([5L], arrived.OccurrenceStarts);
        Assert.Equal(UpstreamStatus.Ok, arrived.Status);
    }

    [Fact]
    public void Deserialize_AfterTheLastArrivalWasReleased_ReusesItsArray()
    {
        var serializer = _services.GetRequiredService<Serializer<ChunkReadResult>>();
        var message = serializer.SerializeToArray(new ChunkReadResult(UpstreamStatus.Ok, new byte[1000], [], null));

        var first = serializer.Deserialize(message)!;
        var firstArray = first.Lease!.Array;
        var whileHeld = serializer.Deserialize(message)!;
        first.Lease.Release();
        var afterRelease = serializer.Deserialize(message)!;

        Assert.NotSame(firstArray, whileHeld.Lease!.Array);
        Assert.Same(firstArray, afterRelease.Lease!.Array);
    }

    [Fact]
    public void Deserialize_LongerChunksThanBefore_GetArraysThatHoldThem()
    {
        // An ISO's last chunk is shorter than the rest, and may be the first to arrive.
        var serializer = _services.GetRequiredService<Serializer<ChunkReadResult>>();
        var shortChunk = serializer.Deserialize(serializer.SerializeToArray(new ChunkReadResult(UpstreamStatus.Ok, Filled(300, 1), [], null)))!;
        var fullChunk = serializer.Deserialize(serializer.SerializeToArray(new ChunkReadResult(UpstreamStatus.Ok, Filled(1000, 2), [], null)))!;
        shortChunk.Lease!.Release();
        var shortAgain = serializer.Deserialize(serializer.SerializeToArray(new ChunkReadResult(UpstreamStatus.Ok, Filled(300, 3), [], null)))!;

        Assert.Equal(Filled(1000, 2), fullChunk.Data.ToArray());
        Assert.Equal(Filled(300, 3), shortAgain.Data.ToArray());
        Assert.True(shortAgain.Lease!.Array.Length >= 1000);
    }

    [Fact]
    public void RoundTrip_FailureWithoutBytes_HasNoLease()
    {
        var serializer = _services.GetRequiredService<Serializer<ChunkReadResult>>();

        var arrived = serializer.Deserialize(serializer.SerializeToArray(new ChunkReadResult(UpstreamStatus.VersionChanged, ReadOnlyMemory<byte>.Empty, [], "ETag changed")))!;

        Assert.Equal(UpstreamStatus.VersionChanged, arrived.Status);
        Assert.True(arrived.Data.IsEmpty);
        Assert.Null(arrived.Lease);
        Assert.Equal("ETag changed", arrived.Reason);
    }

    [Fact]
    public void WireFormat_IsTheGeneratedCodecs_BothWays()
    {
        // A silo and a gateway of different builds meet during a rolling upgrade.
        var generated = _services.GetRequiredService<Serializer<GeneratedChunkReadResult>>();
        var handWritten = _services.GetRequiredService<Serializer<ChunkReadResult>>();
        var bytes = Filled(100, 7);

        var fromGenerated = handWritten.Deserialize(generated.SerializeToArray(new GeneratedChunkReadResult(UpstreamStatus.Ok, bytes, [3, 99], "fine")))!;
        var toGenerated = generated.Deserialize(handWritten.SerializeToArray(new ChunkReadResult(UpstreamStatus.BadResponse, bytes, [4], "short body")))!;

        Assert.Equal((UpstreamStatus.Ok, "fine"), (fromGenerated.Status, fromGenerated.Reason));
        Assert.Equal(bytes, fromGenerated.Data.ToArray());
        Assert.Equal([3L, 99L], fromGenerated.OccurrenceStarts);
        Assert.Equal((UpstreamStatus.BadResponse, "short body"), (toGenerated.Status, toGenerated.Reason));
        Assert.Equal(bytes, toGenerated.Data.ToArray());
        Assert.Equal([4L], toGenerated.OccurrenceStarts);
    }

    [Fact]
    public void RoundTrip_ResultSentTwiceInOneMessage_ArrivesAsOneResult()
    {
        // Objects in a message are numbered as they are written, the bytes of the first result included: the third
        // element refers back to the second by its number, which only matches if the reader numbered the bytes too.
        var serializer = _services.GetRequiredService<Serializer<ChunkReadResult[]>>();
        var first = new ChunkReadResult(UpstreamStatus.Ok, Filled(10, 5), [1], null);
        var second = new ChunkReadResult(UpstreamStatus.Ok, Filled(20, 6), [2], null);

        var arrived = serializer.Deserialize(serializer.SerializeToArray([first, second, second]))!;

        Assert.Same(arrived[1], arrived[2]);
        Assert.Equal(Filled(20, 6), arrived[2].Data.ToArray());
    }

    private static byte[] Filled(int length, byte value) => Enumerable.Repeat(value, length).ToArray();
}

/// <summary>The record as the Orleans code generator serialized it before <see cref="ChunkReadResultCodec"/>.</summary>
[GenerateSerializer]
public sealed record GeneratedChunkReadResult(
    [property: Id(0)] UpstreamStatus Status,
    [property: Id(1)] ReadOnlyMemory<byte> Data,
    [property: Id(2)] long[] OccurrenceStarts,
    [property: Id(3)] string? Reason);
