using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Hardware;

/// <summary>Where Hardware objects come from: a YAML file today, the Kubernetes API later.</summary>
public interface IHardwareSource
{
    /// <summary>Finds the machine whose Hardware object has an interface with <paramref name="mac"/>.</summary>
    /// <param name="mac">The interface MAC.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The machine, or why there is none.</returns>
    ValueTask<HardwareLookup> FindAsync(MacAddress mac, CancellationToken cancellationToken);

    /// <summary>
    /// The <c>isoboot.sourceISO</c> values of every machine known now, as written, each once; empty before the source is
    /// loaded. The admin API lets an operator prewarm any of them.
    /// </summary>
    IReadOnlyCollection<string> SourceIsos { get; }

    /// <summary>
    /// Why lookups cannot be answered yet (no source configured, or its first read has not succeeded), or null once
    /// the source is loaded. Readiness probes report it.
    /// </summary>
    string? NotReadyReason { get; }
}

/// <summary>The outcome of <see cref="IHardwareSource.FindAsync"/>.</summary>
public enum HardwareLookupStatus
{
    /// <summary>A Hardware object has an interface with the MAC.</summary>
    Found = 0,

    /// <summary>The source was read and no Hardware object has an interface with the MAC.</summary>
    NotFound = 1,

    /// <summary>The source is not configured or cannot be read, so the answer is unknown.</summary>
    Unavailable = 2,
}

/// <summary>The answer to <see cref="IHardwareSource.FindAsync"/>.</summary>
/// <param name="Status">Whether the machine was found.</param>
/// <param name="Machine">The machine when <see cref="HardwareLookupStatus.Found"/>, otherwise null.</param>
/// <param name="Reason">Why the machine was not found or the source is unavailable, for logs and responses.</param>
public sealed record HardwareLookup(HardwareLookupStatus Status, MachineRecord? Machine, string? Reason)
{
    /// <summary>A lookup that found <paramref name="machine"/>.</summary>
    /// <param name="machine">The machine.</param>
    public static HardwareLookup Found(MachineRecord machine) => new(HardwareLookupStatus.Found, machine, null);

    /// <summary>A lookup that found no machine.</summary>
    /// <param name="reason">Which source was searched for which MAC.</param>
    public static HardwareLookup NotFound(string reason) => new(HardwareLookupStatus.NotFound, null, reason);

    /// <summary>A lookup that could not be answered.</summary>
    /// <param name="reason">Why the source cannot be read.</param>
    public static HardwareLookup Unavailable(string reason) => new(HardwareLookupStatus.Unavailable, null, reason);
}
