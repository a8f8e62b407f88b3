using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;

namespace IsoCluster.Gateway.Hosting;

/// <summary>
/// Kestrel's memory pool with 64 KiB blocks instead of its 4 KiB ones: a 64 KiB range response then fills one or two
/// pipe segments instead of seventeen, each of which costs a pool rent, a pipe lock and an I/O vector in the send.
/// Measured with wrk on the embedded gateway (64 KiB reads from cache, 64 and 256 connections, four runs each): 9-30 %
/// less gateway CPU per request than Kestrel's default pool, and a lower p99.
/// </summary>
/// <remarks>
/// Kestrel asks for at most 4 KiB at a time and uses whatever larger block it gets. A connection holds a block for its
/// reads and the blocks of the response in flight, so the blocks in use follow the connections; at most
/// <see cref="LargeBlockMemoryPool.MaxRetainedBlocks"/> idle blocks (64 MiB) are kept for reuse, the rest go to the GC.
/// </remarks>
internal sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();

    internal sealed class LargeBlockMemoryPool : MemoryPool<byte>
    {
        public const int MaxRetainedBlocks = 1024;
        private const int BlockSize = 64 * 1024;
        private readonly ConcurrentQueue<Block> _blocks = new();

        public override int MaxBufferSize => BlockSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
            return _blocks.TryDequeue(out var block) ? block : new Block(this);
        }

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Block(LargeBlockMemoryPool pool) : IMemoryOwner<byte>
        {
            public Memory<byte> Memory { get; } = MemoryMarshal.CreateFromPinnedArray(GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true), 0, BlockSize);

            public void Dispose()
            {
                // Count is cheap on ConcurrentQueue (unlike ConcurrentDictionary) and approximate is enough for a cap.
                if (pool._blocks.Count < MaxRetainedBlocks)
                {
                    pool._blocks.Enqueue(this);
                }
            }
        }
    }
}
