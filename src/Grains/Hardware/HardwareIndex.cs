using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Hardware;

/// <summary>An immutable snapshot of Hardware objects, indexed by interface MAC.</summary>
public sealed class HardwareIndex
{
    private readonly FrozenDictionary<MacAddress, MachineRecord> _machines;

    /// <summary>Creates an index over <paramref name="machines"/>, whose MACs must be distinct.</summary>
    /// <param name="machines">The machines, one per interface MAC.</param>
    /// <param name="hardwareObjectCount">How many Hardware objects the machines came from.</param>
    public HardwareIndex(IEnumerable<MachineRecord> machines, int hardwareObjectCount)
    {
        ArgumentNullException.ThrowIfNull(machines);
        _machines = machines.ToFrozenDictionary(m => m.Interface.Mac);
        HardwareObjectCount = hardwareObjectCount;
        SourceIsos = SourceIsosOf(_machines.Values);
    }

    /// <summary>An index with no machines.</summary>
    public static HardwareIndex Empty { get; } = new([], 0);

    /// <summary>How many machines (interface MACs) the index holds.</summary>
    public int Count => _machines.Count;

    /// <summary>How many Hardware objects the machines came from.</summary>
    public int HardwareObjectCount { get; }

    /// <summary>Every machine's <c>isoboot.sourceISO</c>, each once.</summary>
    public IReadOnlyCollection<string> SourceIsos { get; }

    /// <summary>Every machine, in no particular order.</summary>
    public IEnumerable<MachineRecord> Machines => _machines.Values;

    /// <summary>Finds the machine with an interface whose MAC is <paramref name="mac"/>.</summary>
    /// <param name="mac">The interface MAC.</param>
    /// <param name="machine">The machine, when found.</param>
    /// <returns>Whether a machine has that MAC.</returns>
    public bool TryGetMachine(MacAddress mac, [MaybeNullWhen(false)] out MachineRecord machine) =>
        _machines.TryGetValue(mac, out machine);

    /// <summary>The distinct <c>isoboot.sourceISO</c> values of <paramref name="machines"/>.</summary>
    internal static FrozenSet<string> SourceIsosOf(IEnumerable<MachineRecord> machines) =>
        machines.Select(m => m.Interface.SourceIso).OfType<string>().ToFrozenSet(StringComparer.Ordinal);
}
