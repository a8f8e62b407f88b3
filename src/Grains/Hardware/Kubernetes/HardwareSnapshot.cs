using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Hardware.Kubernetes;

/// <summary>A Hardware object's identity in the API: its namespace (empty for none) and name.</summary>
/// <param name="Namespace">metadata.namespace, or empty.</param>
/// <param name="Name">metadata.name.</param>
internal readonly record struct HardwareKey(string Namespace, string Name)
{
    public static HardwareKey Of(MachineRecord machine) => new(machine.Namespace ?? "", machine.HardwareName);

    public override string ToString() => Namespace.Length == 0 ? Name : $"{Namespace}/{Name}";
}

/// <summary>A MAC that two or more Hardware objects claim, so that none of them boots through it.</summary>
/// <param name="Mac">The MAC.</param>
/// <param name="Claimants">Every object that claims it.</param>
internal sealed record MacConflict(MacAddress Mac, ImmutableArray<HardwareKey> Claimants);

/// <summary>
/// The Hardware objects one silo knows, indexed by object and by interface MAC. Immutable: a change makes a new
/// snapshot that shares every unchanged part with the old one (O(log n) per object), and the source swaps the
/// reference in one write, so a lookup sees every change of one event or none of it.
/// </summary>
/// <remarks>
/// A MAC claimed by two objects boots neither, as in the file parser: guessing which one the operator meant could
/// install the wrong machine. When all but one claimant let go (deleted, or edited to another MAC), the last one
/// boots again.
/// </remarks>
internal sealed class HardwareSnapshot
{
    private readonly ImmutableDictionary<HardwareKey, ImmutableArray<MachineRecord>> _objects;
    private readonly ImmutableDictionary<MacAddress, MachineRecord> _owners;
    private readonly ImmutableDictionary<MacAddress, ImmutableArray<HardwareKey>> _conflicts;
    private IReadOnlyCollection<string>? _sourceIsos;

    private HardwareSnapshot(
        ImmutableDictionary<HardwareKey, ImmutableArray<MachineRecord>> objects,
        ImmutableDictionary<MacAddress, MachineRecord> owners,
        ImmutableDictionary<MacAddress, ImmutableArray<HardwareKey>> conflicts,
        string resourceVersion)
    {
        _objects = objects;
        _owners = owners;
        _conflicts = conflicts;
        ResourceVersion = resourceVersion;
    }

    /// <summary>No objects, at no resource version.</summary>
    public static HardwareSnapshot Empty { get; } = new(
        ImmutableDictionary<HardwareKey, ImmutableArray<MachineRecord>>.Empty,
        ImmutableDictionary<MacAddress, MachineRecord>.Empty,
        ImmutableDictionary<MacAddress, ImmutableArray<HardwareKey>>.Empty,
        "");

    /// <summary>The resource version of the newest list, event or bookmark this snapshot includes.</summary>
    public string ResourceVersion { get; }

    /// <summary>How many valid Hardware objects it holds.</summary>
    public int ObjectCount => _objects.Count;

    /// <summary>How many MACs boot (claimed by exactly one object).</summary>
    public int MachineCount => _owners.Count;

    /// <summary>How many MACs are claimed by more than one object.</summary>
    public int ConflictCount => _conflicts.Count;

    /// <summary>The machine of <paramref name="mac"/>, or the objects that all claim it.</summary>
    public bool TryFind(MacAddress mac, [MaybeNullWhen(false)] out MachineRecord machine, out ImmutableArray<HardwareKey> claimants)
    {
        claimants = _conflicts.TryGetValue(mac, out var conflicting) ? conflicting : [];
        return _owners.TryGetValue(mac, out machine);
    }

    /// <summary>Every booting machine's <c>isoboot.sourceISO</c>, each once; computed when first asked (admin calls only).</summary>
    public IReadOnlyCollection<string> SourceIsos => _sourceIsos ??= HardwareIndex.SourceIsosOf(_owners.Values);

    /// <summary>Whether an object with <paramref name="key"/> is held.</summary>
    public bool Contains(HardwareKey key) => _objects.ContainsKey(key);

    /// <summary>Starts a change; nothing is visible until <see cref="Editor.Commit"/>.</summary>
    public Editor Edit() => new(this);

    /// <summary>Changes to a snapshot, made on builders so that a list of 100,000 objects costs no copy per object.</summary>
    internal sealed class Editor
    {
        private readonly ImmutableDictionary<HardwareKey, ImmutableArray<MachineRecord>>.Builder _objects;
        private readonly ImmutableDictionary<MacAddress, MachineRecord>.Builder _owners;
        private readonly ImmutableDictionary<MacAddress, ImmutableArray<HardwareKey>>.Builder _conflicts;
        private readonly HardwareSnapshot _from;
        private readonly HashSet<MacAddress> _touched = [];
        private readonly List<MacConflict> _newConflicts = [];
        private readonly List<(MacAddress Mac, HardwareKey Owner)> _resolved = [];
        private string _resourceVersion;

        public Editor(HardwareSnapshot from)
        {
            _from = from;
            _objects = from._objects.ToBuilder();
            _owners = from._owners.ToBuilder();
            _conflicts = from._conflicts.ToBuilder();
            _resourceVersion = from.ResourceVersion;
        }

        /// <summary>After <see cref="Commit"/>: MACs claimed by more than one object that were not, or not by the same ones, before.</summary>
        public IReadOnlyList<MacConflict> NewConflicts => _newConflicts;

        /// <summary>After <see cref="Commit"/>: MACs whose conflict ended, with the object that now has each.</summary>
        public IReadOnlyList<(MacAddress Mac, HardwareKey Owner)> Resolved => _resolved;

        /// <summary>Adds the object, or replaces it whole (its old MACs let go first).</summary>
        public void Upsert(HardwareKey key, ImmutableArray<MachineRecord> machines)
        {
            Remove(key);
            _objects[key] = machines;
            foreach (var machine in machines)
            {
                Claim(key, machine);
            }
        }

        /// <summary>Removes the object if held; its MACs stop booting, or go to the one other claimant left.</summary>
        public bool Remove(HardwareKey key)
        {
            if (!_objects.TryGetValue(key, out var old))
            {
                return false;
            }

            _objects.Remove(key);
            foreach (var machine in old)
            {
                Release(key, machine.Interface.Mac);
            }

            return true;
        }

        /// <summary>Empties the snapshot, for a relist that replaces everything.</summary>
        public void Clear()
        {
            _objects.Clear();
            _owners.Clear();
            _conflicts.Clear();
        }

        public void SetResourceVersion(string resourceVersion) => _resourceVersion = resourceVersion;

        /// <summary>
        /// The new snapshot. Conflicts are reported by comparing the end state with the start, not step by step, so
        /// an edit of one claimant (which lets go of its MACs and claims them again) or a relist reports nothing new.
        /// </summary>
        public HardwareSnapshot Commit()
        {
            foreach (var mac in _touched)
            {
                if (_conflicts.TryGetValue(mac, out var now))
                {
                    if (!_from._conflicts.TryGetValue(mac, out var before) || before.Length != now.Length || before.Except(now).Any())
                    {
                        _newConflicts.Add(new MacConflict(mac, now));
                    }
                }
                else if (_owners.TryGetValue(mac, out var owner) && _from._conflicts.ContainsKey(mac))
                {
                    _resolved.Add((mac, HardwareKey.Of(owner)));
                }
            }

            _touched.Clear();
            return new(_objects.ToImmutable(), _owners.ToImmutable(), _conflicts.ToImmutable(), _resourceVersion);
        }

        private void Claim(HardwareKey key, MachineRecord machine)
        {
            var mac = machine.Interface.Mac;
            _touched.Add(mac);
            if (_owners.TryGetValue(mac, out var owner))
            {
                _owners.Remove(mac);
                _conflicts[mac] = [HardwareKey.Of(owner), key];
            }
            else if (_conflicts.TryGetValue(mac, out var claimants))
            {
                _conflicts[mac] = claimants.Add(key);
            }
            else
            {
                _owners[mac] = machine;
            }
        }

        private void Release(HardwareKey key, MacAddress mac)
        {
            _touched.Add(mac);
            if (_owners.TryGetValue(mac, out var owner))
            {
                if (HardwareKey.Of(owner) == key)
                {
                    _owners.Remove(mac);
                }

                return;
            }

            if (!_conflicts.TryGetValue(mac, out var claimants))
            {
                return;
            }

            var left = claimants.Remove(key);
            if (left.Length > 1)
            {
                _conflicts[mac] = left;
                return;
            }

            _conflicts.Remove(mac);
            if (left.Length == 1 && _objects.TryGetValue(left[0], out var machines))
            {
                foreach (var machine in machines)
                {
                    if (machine.Interface.Mac == mac)
                    {
                        _owners[mac] = machine;
                        break;
                    }
                }
            }
        }
    }
}
