namespace IsoCluster.Grains.Tests.Hardware;

/// <summary>Builds Hardware YAML for tests.</summary>
internal static class HardwareYaml
{
    public static string Object(string name, string mac, string? facility = null, string? hostname = null, string? extraDhcp = null) =>
        $"""
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata:
          name: {name}
          namespace: tink-system
        spec:
          metadata:
            facility:
              facility_code: {facility ?? "''"}
          interfaces:
            - dhcp:
                mac: {mac}
                hostname: {hostname ?? name}
        {Indent(extraDhcp, 8)}
        """;

    public static string Documents(params string[] documents) => string.Join("\n---\n", documents) + "\n";

    private static string Indent(string? text, int spaces) =>
        text is null ? "" : string.Join("\n", text.Split('\n').Select(line => new string(' ', spaces) + line));
}
