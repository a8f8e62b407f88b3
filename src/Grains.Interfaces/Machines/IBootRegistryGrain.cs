using Orleans.Concurrency;

namespace IsoCluster.Grains.Machines;

/// <summary>
/// Every machine's latest boot in one place, so that a listing of hundreds of machines is one grain call. Machine grains
/// send it their boot when it changes, at most about once a second each; it holds no state of its own worth keeping
/// (a registry that is lost fills again as machines report).
/// </summary>
[Alias("IsoCluster.IBootRegistryGrain")]
public interface IBootRegistryGrain : IGrainWithIntegerKey
{
    /// <summary>The key of the one registry.</summary>
    const long Key = 0;

    /// <summary>
    /// Records a machine's boot as it stood at <paramref name="asOf"/>. One-way, so a machine grain never waits on the
    /// registry; an update older than the one held (messages can overtake each other) is ignored.
    /// </summary>
    [OneWay, Alias("Update")]
    Task UpdateAsync(MachineBoot boot, DateTimeOffset asOf);

    /// <summary>
    /// The machines whose boot is in <paramref name="state"/> (any when null) and whose MAC contains
    /// <paramref name="macContains"/> (any when null): failed first, then booting, then finished, by MAC within each.
    /// </summary>
    [Alias("List")]
    ValueTask<MachineBoot[]> ListAsync(BootState? state, string? macContains);

    /// <summary>One machine's boot, or null when it has none on record.</summary>
    [Alias("Get")]
    ValueTask<MachineBoot?> GetAsync(string mac);
}
