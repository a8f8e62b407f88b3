using System.Globalization;
using System.Text;

namespace IsoCluster.FleetBoot;

/// <summary>One synthetic machine: its MAC and the Hardware fields that show up in its kernel parameters.</summary>
/// <param name="Mac">Lower-case, colon-separated: <c>aa:bb:cc:dd:XX:YY</c>.</param>
/// <param name="Facility">Its <c>spec.metadata.facility.facility_code</c>, different for every machine.</param>
/// <param name="VlanId">Its <c>dhcp.vlan_id</c>, different for every machine.</param>
internal sealed record FleetMachine(string Mac, string Facility, string VlanId)
{
    /// <summary>The most machines one fleet can have: the last two MAC octets number them.</summary>
    public const int MaxCount = 65536;

    /// <summary>Machine <paramref name="index"/> of a fleet.</summary>
    public static FleetMachine ForIndex(int index) => new(
        string.Create(CultureInfo.InvariantCulture, $"aa:bb:cc:dd:{index >> 8:x2}:{index & 0xff:x2}"),
        string.Create(CultureInfo.InvariantCulture, $"bench-f{index}"),
        (100 + (index % 3900)).ToString(CultureInfo.InvariantCulture));

    /// <summary>Reads a list written by <see cref="WriteList"/>.</summary>
    public static IReadOnlyList<FleetMachine> ReadList(string path) =>
        [.. File.ReadLines(path).Where(line => line.Length > 0).Select(Parse)];

    /// <summary>Writes one machine per line: MAC, facility and VLAN separated by spaces.</summary>
    public static void WriteList(string path, IEnumerable<FleetMachine> machines) =>
        File.WriteAllLines(path, machines.Select(m => $"{m.Mac} {m.Facility} {m.VlanId}"));

    /// <summary>Writes the machines as Tinkerbell Hardware objects, one YAML document each (see examples/hardware.yaml).</summary>
    public static void WriteHardware(string path, IEnumerable<FleetMachine> machines)
    {
        var yaml = new StringBuilder();
        foreach (var machine in machines)
        {
            var name = "bench-" + machine.Mac.Replace(":", "", StringComparison.Ordinal);
            yaml.Append(CultureInfo.InvariantCulture, $"""
                ---
                apiVersion: tinkerbell.org/v1alpha1
                kind: Hardware
                metadata:
                  name: {name}
                  namespace: bench
                spec:
                  metadata:
                    facility:
                      facility_code: {machine.Facility}
                  interfaces:
                    - dhcp:
                        mac: "{machine.Mac}"
                        hostname: {name}
                        vlan_id: "{machine.VlanId}"

                """);
        }

        File.WriteAllText(path, yaml.ToString());
    }

    private static FleetMachine Parse(string line)
    {
        var fields = line.Split(' ');
        return fields.Length == 3
            ? new FleetMachine(fields[0], fields[1], fields[2])
            : throw new ArgumentException($"'{line}' is not 'mac facility vlan'");
    }
}
