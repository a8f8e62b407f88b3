namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>Waits for something the system does in the background, with a generous bound instead of a fixed sleep.</summary>
internal static class Eventually
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="within"/> passes; returns whether it held.</summary>
    public static async Task<bool> HoldsAsync(Func<bool> condition, TimeSpan within)
    {
        var stopAt = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow > stopAt)
            {
                return false;
            }

            await Task.Delay(Pause);
        }

        return true;
    }

    /// <summary>Polls <paramref name="condition"/> (a request, say) until it holds or <paramref name="within"/> passes; returns whether it held.</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var stopAt = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > stopAt)
            {
                return false;
            }

            await Task.Delay(Pause);
        }

        return true;
    }
}
