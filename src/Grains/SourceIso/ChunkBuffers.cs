using System.Text;

namespace IsoCluster.Grains.SourceIso;

/// <summary>Sizes this silo's <see cref="ChunkBufferPool"/>.</summary>
internal static class ChunkBuffers
{
    // The fewest idle arrays kept for reuse, for a cache of only a few chunks: as many as one upstream server's fetches in
    // flight by default (Upstream:MaxConnectionsPerServer).
    private const int MinIdle = 32;

    /// <summary>A pool of arrays that hold one chunk and the magic-string margins fetched on either side.</summary>
    public static ChunkBufferPool CreatePool(CacheOptions cache, IsoOptions iso)
    {
        var margin = Encoding.ASCII.GetByteCount(iso.MagicString) - 1;
        var arrayLength = (int)cache.ChunkSize.Bytes + (2 * margin);

        // Up to a cache's worth of idle arrays. How many buffers are live swings with how far the silo cache and the
        // gateway caches that share its buffers hold the same chunks, by up to a cache's worth; a pool that dropped
        // arrays on the way down would allocate them again on the way up, which is the large-object churn pooling
        // removes. Every idle array was live once, so the pool never holds more than the process held at its peak.
        var cacheArrays = (int)Math.Min(int.MaxValue, cache.Size.Bytes / arrayLength);
        return new ChunkBufferPool(arrayLength, Math.Max(MinIdle, cacheArrays));
    }
}
