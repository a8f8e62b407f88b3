using System.Collections.Immutable;
using IsoCluster.Grains.Machines;
using YamlDotNet.RepresentationModel;

namespace IsoCluster.Grains.Hardware;

/// <summary>Reads the fields IsoCluster needs from one Hardware object.</summary>
/// <remarks>
/// The Kubernetes source hands over only the paths read here (<see cref="Kubernetes.HardwareJson"/>), because API
/// objects carry kilobytes this reader never looks at (managedFields, user data): a path added here goes there too.
/// </remarks>
internal static class HardwareObjectReader
{
    /// <summary>Names the object for errors, e.g. <c>document 2 (Hardware 'sm01')</c>, as far as it can be named.</summary>
    public static string Describe(YamlMappingNode obj, string location)
    {
        if (YamlFields.Get(obj, "metadata") is not YamlMappingNode metadata
            || YamlFields.Get(metadata, "name") is not YamlScalarNode { Value: { Length: > 0 } name })
        {
            return location;
        }

        return YamlFields.Get(metadata, "namespace") is YamlScalarNode { Value: { Length: > 0 } ns }
            ? $"{location} (Hardware '{ns}/{name}')"
            : $"{location} (Hardware '{name}')";
    }

    /// <summary>Reads one machine per interface; errors go to <paramref name="errors"/>.</summary>
    /// <param name="errors">Receives every problem.</param>
    /// <param name="obj">The Hardware object.</param>
    /// <param name="pool">Shares values repeated across machines, for sources that keep machines for long; or null.</param>
    public static List<(MachineRecord Machine, YamlNode MacNode)> Read(HardwareErrors errors, YamlMappingNode obj, HardwareStringPool? pool = null)
    {
        var machines = new List<(MachineRecord, YamlNode)>();
        var metadata = YamlFields.ReadMapping(errors, obj, "metadata", "metadata");
        var name = metadata is null ? null : YamlFields.ReadString(errors, metadata, "name", "metadata.name");
        var ns = pool.Share(metadata is null ? null : YamlFields.ReadString(errors, metadata, "namespace", "metadata.namespace"));
        var resourceVersion = metadata is null ? null : YamlFields.ReadString(errors, metadata, "resourceVersion", "metadata.resourceVersion");
        if (name is null)
        {
            errors.Add("metadata.name", metadata ?? obj, "is required");
            return machines;
        }

        var spec = YamlFields.ReadMapping(errors, obj, "spec", "spec");
        if (spec is null)
        {
            return machines;
        }

        var specMetadata = YamlFields.ReadMapping(errors, spec, "metadata", "spec.metadata");
        var facilityNode = specMetadata is null ? null : YamlFields.ReadMapping(errors, specMetadata, "facility", "spec.metadata.facility");
        var facility = pool.Share(facilityNode is null ? null : YamlFields.ReadString(errors, facilityNode, "facility_code", "spec.metadata.facility.facility_code"));

        var interfaces = YamlFields.ReadSequence(errors, spec, "interfaces", "spec.interfaces");
        if (interfaces is null)
        {
            return machines;
        }

        for (var i = 0; i < interfaces.Children.Count; i++)
        {
            var path = $"spec.interfaces[{i}]";
            if (interfaces.Children[i] is not YamlMappingNode nic)
            {
                errors.Add(path, interfaces.Children[i], $"expected a mapping, found {YamlFields.Describe(interfaces.Children[i])}");
                continue;
            }

            if (ReadInterface(errors, nic, i, path, name, pool) is ({ } machineInterface, { } macNode))
            {
                machines.Add((new MachineRecord(name, ns, facility, machineInterface, resourceVersion), macNode));
            }
        }

        return machines;
    }

    private static (MachineInterface?, YamlNode?) ReadInterface(HardwareErrors errors, YamlMappingNode nic, int index, string path, string hardwareName, HardwareStringPool? pool)
    {
        var isoboot = YamlFields.ReadMapping(errors, nic, "isoboot", $"{path}.isoboot");
        var sourceIso = isoboot is null ? null : YamlFields.ReadString(errors, isoboot, "sourceISO", $"{path}.isoboot.sourceISO");

        var dhcp = YamlFields.ReadMapping(errors, nic, "dhcp", $"{path}.dhcp");
        if (dhcp is null)
        {
            // The MAC lives under dhcp, and a machine is found by its MAC, so an interface without it is useless.
            errors.Add($"{path}.dhcp.mac", nic, "is required");
            return (null, null);
        }

        var macText = YamlFields.ReadString(errors, dhcp, "mac", $"{path}.dhcp.mac");
        var macNode = YamlFields.Get(dhcp, "mac");
        MacAddress mac = default;
        if (macText is null)
        {
            errors.Add($"{path}.dhcp.mac", macNode ?? dhcp, "is required");
        }
        else if (!MacAddress.TryParse(macText, out mac, out var macError))
        {
            errors.Add($"{path}.dhcp.mac", macNode, macError);
            macText = null;
        }

        var vlanId = YamlFields.ReadString(errors, dhcp, "vlan_id", $"{path}.dhcp.vlan_id");
        var hostname = YamlFields.ReadString(errors, dhcp, "hostname", $"{path}.dhcp.hostname");
        var ip = YamlFields.ReadMapping(errors, dhcp, "ip", $"{path}.dhcp.ip");
        var address = ip is null ? null : YamlFields.ReadString(errors, ip, "address", $"{path}.dhcp.ip.address");
        var netmask = ip is null ? null : YamlFields.ReadString(errors, ip, "netmask", $"{path}.dhcp.ip.netmask");
        var gateway = ip is null ? null : YamlFields.ReadString(errors, ip, "gateway", $"{path}.dhcp.ip.gateway");
        var nameServers = YamlFields.ReadStringList(errors, dhcp, "name_servers", $"{path}.dhcp.name_servers");
        var timeServers = YamlFields.ReadStringList(errors, dhcp, "time_servers", $"{path}.dhcp.time_servers");
        var domainName = YamlFields.ReadString(errors, dhcp, "domain_name", $"{path}.dhcp.domain_name");
        var domainSearch = YamlFields.ReadStringList(errors, dhcp, "domain_search", $"{path}.dhcp.domain_search");

        // Tinkerbell versions disagree on where the DNS search list lives: the dedicated list wins when present,
        // because domain_name may hold only the machine's own domain.
        ImmutableArray<string> searchDomains = domainSearch.IsEmpty ? YamlFields.SplitCommas(domainName) : domainSearch;

        if (macText is null)
        {
            return (null, null);
        }

        var machineInterface = new MachineInterface(
            mac,
            index,
            pool.Share(vlanId),
            address,
            pool.Share(netmask),
            pool.Share(gateway),
            // Tinkerbell names Hardware after the host, so the two are usually equal: one string, not two.
            hostname == hardwareName ? hardwareName : hostname,
            pool.Share(nameServers),
            pool.Share(searchDomains),
            pool.Share(timeServers),
            pool.Share(sourceIso));
        return (machineInterface, macNode);
    }
}

/// <summary>Null-tolerant access to an optional <see cref="HardwareStringPool"/>.</summary>
internal static class HardwareStringPoolExtensions
{
    public static string? Share(this HardwareStringPool? pool, string? value) => pool is null ? value : pool.Intern(value);

    public static ImmutableArray<string> Share(this HardwareStringPool? pool, ImmutableArray<string> values) =>
        pool is null ? values : pool.Intern(values);
}
