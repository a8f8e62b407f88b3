using System.Collections.Immutable;
using IsoCluster.Grains.Machines;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace IsoCluster.Grains.Hardware;

/// <summary>The machines read from a YAML text, and every problem found in it.</summary>
/// <param name="Index">The machines of every Hardware object that was read without problems.</param>
/// <param name="Errors">
/// Every problem, each naming the source, the document (1-based) or list item, the Hardware object and the field.
/// </param>
public sealed record HardwareParseResult(HardwareIndex Index, ImmutableArray<string> Errors)
{
    /// <summary>Whether the text had no problems.</summary>
    public bool IsValid => Errors.IsEmpty;
}

/// <summary>One Hardware object read on its own: its machines, or why it was refused.</summary>
/// <param name="Machines">One machine per interface; empty when there are errors.</param>
/// <param name="Errors">Every problem, each naming the source, the object and the field.</param>
internal sealed record HardwareObjectParse(ImmutableArray<MachineRecord> Machines, ImmutableArray<string> Errors)
{
    /// <summary>Whether the object had no problems.</summary>
    public bool IsValid => Errors.IsEmpty;
}

/// <summary>
/// Reads Tinkerbell <c>Hardware</c> objects (<c>tinkerbell.org/v1alpha1</c>) from YAML: a multi-document stream,
/// a <c>kind: List</c> (as printed by <c>kubectl get hardware -o yaml</c>) or a <c>HardwareList</c>.
/// Objects of other kinds and empty documents are skipped; unknown fields are ignored.
/// </summary>
/// <remarks>Independent of where the text comes from, so the file and Kubernetes sources share it.</remarks>
public static class HardwareDocumentParser
{
    /// <summary>The only Hardware API version whose schema this parser knows.</summary>
    public const string ApiVersion = "tinkerbell.org/v1alpha1";

    /// <summary>Parses <paramref name="yaml"/>, reporting every problem rather than stopping at the first.</summary>
    /// <param name="yaml">The YAML text.</param>
    /// <param name="sourceName">What to call the text in errors, usually the file name.</param>
    /// <returns>The machines of the objects without problems, and the problems.</returns>
    public static HardwareParseResult Parse(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        var errors = new HardwareErrors(sourceName);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            // A syntax error leaves the rest of the stream unreadable, so it is the only error worth reporting.
            errors.AddForStream(ex.Start, $"invalid YAML: {ex.Message}");
            return new HardwareParseResult(HardwareIndex.Empty, errors.ToImmutableArray());
        }

        var collector = new MachineCollector(errors);
        for (var i = 0; i < stream.Documents.Count; i++)
        {
            var root = stream.Documents[i].RootNode;
            if (root is null || YamlFields.IsNull(root))
            {
                continue;
            }

            errors.Location = $"document {i + 1}";
            if (root is not YamlMappingNode obj)
            {
                errors.AddAtLocation(root, $"expected a Kubernetes object (a mapping), found {YamlFields.Describe(root)}");
                continue;
            }

            ReadObject(errors, collector, obj, errors.Location, impliedKind: null);
        }

        return new HardwareParseResult(collector.ToIndex(), errors.ToImmutableArray());
    }

    /// <summary>
    /// Reads one Hardware object on its own, as the Kubernetes API hands them over, with the checks the file parser
    /// applies to each document: its kind and API version, every field, and no MAC on two of its interfaces.
    /// </summary>
    /// <param name="obj">The object.</param>
    /// <param name="sourceName">What to call where it came from in errors.</param>
    /// <param name="location">Where it is within that source, e.g. <c>watch event</c>.</param>
    /// <param name="pool">Shares values repeated across machines, or null.</param>
    /// <returns>Its machines, or none and every problem.</returns>
    internal static HardwareObjectParse ParseObject(YamlMappingNode obj, string sourceName, string location, HardwareStringPool? pool)
    {
        var errors = new HardwareErrors(sourceName, withLines: false) { Location = HardwareObjectReader.Describe(obj, location) };
        var kind = YamlFields.ReadString(errors, obj, "kind", "kind");
        if (kind is not null and not "Hardware")
        {
            errors.Add("kind", YamlFields.Get(obj, "kind"), $"'{kind}' is not Hardware");
            return new HardwareObjectParse([], errors.ToImmutableArray());
        }

        // List items from the API server may omit apiVersion; the list's (the request's) applies then.
        var apiVersion = YamlFields.ReadString(errors, obj, "apiVersion", "apiVersion");
        if (apiVersion is not null && apiVersion != ApiVersion)
        {
            errors.Add("apiVersion", YamlFields.Get(obj, "apiVersion"),
                $"'{apiVersion}' is not supported for kind Hardware; expected '{ApiVersion}'");
            return new HardwareObjectParse([], errors.ToImmutableArray());
        }

        var machines = HardwareObjectReader.Read(errors, obj, pool);

        // The file parser refuses a MAC claimed twice wherever the claims are, so one object may not either.
        var firstIndex = new Dictionary<MacAddress, int>(machines.Count);
        foreach (var (machine, macNode) in machines)
        {
            if (!firstIndex.TryAdd(machine.Interface.Mac, machine.Interface.Index))
            {
                errors.Add($"spec.interfaces[{machine.Interface.Index}].dhcp.mac", macNode,
                    $"{machine.Interface.Mac} is already used by spec.interfaces[{firstIndex[machine.Interface.Mac]}]");
            }
        }

        return errors.Count == 0
            ? new HardwareObjectParse([.. machines.Select(m => m.Machine)], [])
            : new HardwareObjectParse([], errors.ToImmutableArray());
    }

    private static void ReadObject(HardwareErrors errors, MachineCollector collector, YamlMappingNode obj, string location, string? impliedKind)
    {
        errors.Location = location;
        var kind = YamlFields.ReadString(errors, obj, "kind", "kind") ?? impliedKind;
        switch (kind)
        {
            case "Hardware":
                errors.Location = HardwareObjectReader.Describe(obj, location);
                var apiVersion = YamlFields.ReadString(errors, obj, "apiVersion", "apiVersion");

                // Items of a HardwareList from the API server omit apiVersion; the list's own one applies.
                if (apiVersion is null && impliedKind is null)
                {
                    errors.Add("apiVersion", obj, $"is required for kind Hardware; expected '{ApiVersion}'");
                    return;
                }

                if (apiVersion is not null && apiVersion != ApiVersion)
                {
                    errors.Add("apiVersion", YamlFields.Get(obj, "apiVersion"),
                        $"'{apiVersion}' is not supported for kind Hardware; expected '{ApiVersion}'");
                    return;
                }

                var errorsBefore = errors.Count;
                var machines = HardwareObjectReader.Read(errors, obj);
                if (errors.Count == errorsBefore)
                {
                    collector.Add(machines, errors.Location);
                }

                return;
            case "List" or "HardwareList":
                var items = YamlFields.ReadSequence(errors, obj, "items", "items");
                if (items is null)
                {
                    return;
                }

                if (kind == "HardwareList" && YamlFields.ReadString(errors, obj, "apiVersion", "apiVersion") is { } listApi && listApi != ApiVersion)
                {
                    errors.Add("apiVersion", YamlFields.Get(obj, "apiVersion"), $"'{listApi}' is not supported for kind HardwareList; expected '{ApiVersion}'");
                    return;
                }

                for (var j = 0; j < items.Children.Count; j++)
                {
                    var itemLocation = $"{location}, items[{j}]";
                    if (items.Children[j] is YamlMappingNode item)
                    {
                        ReadObject(errors, collector, item, itemLocation, kind == "HardwareList" ? "Hardware" : null);
                    }
                    else if (!YamlFields.IsNull(items.Children[j]))
                    {
                        errors.Location = itemLocation;
                        errors.AddAtLocation(items.Children[j], $"expected a Kubernetes object (a mapping), found {YamlFields.Describe(items.Children[j])}");
                    }
                }

                return;
            default:
                return;
        }
    }

    /// <summary>Gathers machines across objects, refusing a MAC claimed twice.</summary>
    private sealed class MachineCollector(HardwareErrors errors)
    {
        private readonly Dictionary<MacAddress, (MachineRecord Machine, string Location)> _machines = [];
        private readonly HashSet<MacAddress> _ambiguous = [];
        private int _hardwareObjects;

        public void Add(IReadOnlyList<(MachineRecord Machine, YamlNode MacNode)> machines, string location)
        {
            _hardwareObjects++;
            foreach (var (machine, macNode) in machines)
            {
                var mac = machine.Interface.Mac;
                if (_machines.TryGetValue(mac, out var first))
                {
                    errors.Add($"spec.interfaces[{machine.Interface.Index}].dhcp.mac", macNode, $"{mac} is already used by {first.Location}");

                    // Neither claimant may boot: guessing which one the operator meant could install the wrong machine.
                    _ambiguous.Add(mac);
                    continue;
                }

                _machines.Add(mac, (machine, location));
            }
        }

        public HardwareIndex ToIndex() =>
            new(_machines.Where(m => !_ambiguous.Contains(m.Key)).Select(m => m.Value.Machine), _hardwareObjects);
    }
}
