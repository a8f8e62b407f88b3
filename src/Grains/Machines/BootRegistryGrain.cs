namespace IsoCluster.Grains.Machines;

/// <summary>
/// Every machine's latest boot, as its machine grain last sent it. A few hundred bytes a machine: a fleet of 100,000
/// is tens of megabytes in one activation, and a listing is one call.
/// </summary>
/// <remarks>
/// Nothing is persisted: a registry lost with its silo fills again as machines report, and a machine whose boot ended
/// before then shows once it next boots (its own grain still answers <c>GET /api/machines/{mac}</c> meanwhile).
/// </remarks>
internal sealed class BootRegistryGrain : Grain, IBootRegistryGrain
{
    private readonly Dictionary<string, MachineBoot> _boots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _asOf = new(StringComparer.Ordinal);

    public Task UpdateAsync(MachineBoot boot, DateTimeOffset asOf)
    {
        ArgumentNullException.ThrowIfNull(boot);
        if (!_asOf.TryGetValue(boot.Mac, out var held) || asOf >= held)
        {
            _boots[boot.Mac] = boot;
            _asOf[boot.Mac] = asOf;
        }

        return Task.CompletedTask;
    }

    public ValueTask<MachineBoot[]> ListAsync(BootState? state, string? macContains)
    {
        var listed = new List<MachineBoot>();
        foreach (var boot in _boots.Values)
        {
            if ((state is null || boot.State == state) && (string.IsNullOrEmpty(macContains) || boot.Mac.Contains(macContains, StringComparison.Ordinal)))
            {
                listed.Add(boot);
            }
        }

        listed.Sort(static (a, b) => Rank(a.State) != Rank(b.State) ? Rank(a.State).CompareTo(Rank(b.State)) : string.CompareOrdinal(a.Mac, b.Mac));
        return ValueTask.FromResult(listed.ToArray());
    }

    public ValueTask<MachineBoot?> GetAsync(string mac) =>
        ValueTask.FromResult(_boots.TryGetValue(mac, out var boot) ? boot : null);

    // What an operator looks at first: the failures, then what is still going.
    private static int Rank(BootState state) => state switch
    {
        BootState.Failed => 0,
        BootState.Booting => 1,
        _ => 2,
    };
}
