namespace IsoCluster.TestSupport;

/// <summary>Counts the operations under way and remembers the most at once, for tests of a concurrency bound.</summary>
public sealed class ConcurrencyGauge
{
    private int _current;
    private int _most;

    /// <summary>Operations under way now.</summary>
    public int Current => Volatile.Read(ref _current);

    /// <summary>The most operations that were under way at once.</summary>
    public int Most => Volatile.Read(ref _most);

    /// <summary>One more operation under way.</summary>
    public void Enter()
    {
        var current = Interlocked.Increment(ref _current);
        for (var most = Most; current > most; most = Most)
        {
            Interlocked.CompareExchange(ref _most, current, most);
        }
    }

    /// <summary>One operation done.</summary>
    public void Exit() => Interlocked.Decrement(ref _current);
}
