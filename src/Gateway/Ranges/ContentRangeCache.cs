using System.Collections.Concurrent;

namespace IsoCluster.Gateway.Ranges;

/// <summary>
/// <c>Content-Range</c> values made once and reused: a fleet reads the same ranges of the same ISO over and over (every
/// BMC walks it in the same steps), and a header value must be a string, so each new one would be garbage.
/// </summary>
/// <remarks>Bounded: when full it starts again empty, which costs only the strings made anew.</remarks>
internal sealed class ContentRangeCache
{
    private const int Capacity = 16_384;

    private readonly ConcurrentDictionary<(long Start, long Length, long CompleteLength), string> _values = new();
    private int _count;

    /// <summary><see cref="ByteRange.ToContentRange"/> of <paramref name="range"/>, made once.</summary>
    public string Get(ByteRange range, long completeLength)
    {
        var key = (range.Start, range.Length, completeLength);
        if (_values.TryGetValue(key, out var value))
        {
            return value;
        }

        // Counted apart: ConcurrentDictionary.Count takes every bucket's lock, and under random reads nearly every
        // request misses (measured: a fifth of the gateway's CPU waiting on those locks).
        value = range.ToContentRange(completeLength);
        if (_values.TryAdd(key, value) && Interlocked.Increment(ref _count) > Capacity)
        {
            Interlocked.Exchange(ref _count, 0);
            _values.Clear();
        }

        return value;
    }
}
