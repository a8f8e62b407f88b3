using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace IsoCluster.Grains.Hardware.Kubernetes;

/// <summary>
/// Turns a Hardware object received as JSON from the API server into YamlDotNet's model, node for node as YamlDotNet
/// would parse the same JSON text, so that <see cref="HardwareObjectReader"/> reads it exactly as it reads a YAML file.
/// </summary>
/// <remarks>
/// Only the paths the reader reads are converted (<c>apiVersion</c>, <c>kind</c>, <c>metadata.name</c>,
/// <c>metadata.namespace</c>, <c>metadata.resourceVersion</c>, <c>spec.metadata.facility</c>, and of each
/// <c>spec.interfaces[]</c> the <c>dhcp</c> fields and <c>isoboot.sourceISO</c>): API objects also carry
/// managedFields, status, netboot settings and user data, kilobytes per object that would otherwise be copied for
/// 100,000 objects at every list. A value of an unexpected type at one of those paths is converted whole, so the
/// reader's error describes it as it would in a file.
/// </remarks>
internal static class HardwareJson
{
    private static readonly string[] TopFields = ["apiVersion", "kind", "metadata", "spec"];
    private static readonly string[] MetadataFields = ["name", "namespace", "resourceVersion"];
    private static readonly string[] SpecFields = ["metadata", "interfaces"];
    private static readonly string[] SpecMetadataFields = ["facility"];
    private static readonly string[] InterfaceFields = ["dhcp", "isoboot"];
    private static readonly string[] DhcpFields =
        ["mac", "vlan_id", "hostname", "ip", "name_servers", "time_servers", "domain_name", "domain_search"];
    private static readonly string[] IsobootFields = ["sourceISO"];

    /// <summary>The parts of <paramref name="hardware"/> (a JSON object) that the reader reads.</summary>
    public static YamlMappingNode ToYaml(JsonElement hardware)
    {
        if (hardware.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"expected a JSON object, found {hardware.ValueKind}", nameof(hardware));
        }

        return (YamlMappingNode)Project(hardware, TopFields, static (field, value) => field switch
        {
            "metadata" => Project(value, MetadataFields, null),
            "spec" => Project(value, SpecFields, static (field, value) => field switch
            {
                "metadata" => Project(value, SpecMetadataFields, null),
                _ => ProjectInterfaces(value),
            }),
            _ => Convert(value),
        });
    }

    /// <summary>The whole of <paramref name="value"/>, as YamlDotNet would parse its JSON text.</summary>
    public static YamlNode Convert(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var map = new YamlMappingNode();
                foreach (var property in value.EnumerateObject())
                {
                    Set(map, property.Name, Convert(property.Value));
                }

                return map;
            case JsonValueKind.Array:
                var sequence = new YamlSequenceNode();
                foreach (var item in value.EnumerateArray())
                {
                    sequence.Add(Convert(item));
                }

                return sequence;

            // A JSON string is a quoted scalar: "null" or "" stay strings, as the YAML parser reads "null" and "".
            case JsonValueKind.String:
                return new YamlScalarNode(value.GetString()) { Style = ScalarStyle.DoubleQuoted };
            case JsonValueKind.Null:
                return new YamlScalarNode("null") { Style = ScalarStyle.Plain };
            default:
                return new YamlScalarNode(value.GetRawText()) { Style = ScalarStyle.Plain };
        }
    }

    /// <summary>
    /// <c>metadata.namespace</c> and <c>metadata.name</c> of an object, read without converting it: enough to remove
    /// a deleted object or to name one that cannot be read.
    /// </summary>
    public static HardwareKey? ReadKey(JsonElement hardware) =>
        ReadMetadataString(hardware, "name") is { } name ? new HardwareKey(ReadMetadataString(hardware, "namespace") ?? "", name) : null;

    /// <summary><c>metadata.resourceVersion</c> of an object (or of a bookmark), or null.</summary>
    public static string? ReadResourceVersion(JsonElement hardware) => ReadMetadataString(hardware, "resourceVersion");

    private static string? ReadMetadataString(JsonElement hardware, string field) =>
        hardware.ValueKind == JsonValueKind.Object
        && hardware.TryGetProperty("metadata", out var metadata)
        && metadata.ValueKind == JsonValueKind.Object
        && metadata.TryGetProperty(field, out var value)
        && value.ValueKind == JsonValueKind.String
        && value.GetString() is { Length: > 0 } text
            ? text
            : null;

    private static YamlNode ProjectInterfaces(JsonElement interfaces)
    {
        if (interfaces.ValueKind != JsonValueKind.Array)
        {
            return Convert(interfaces);
        }

        var sequence = new YamlSequenceNode();
        foreach (var item in interfaces.EnumerateArray())
        {
            sequence.Add(Project(item, InterfaceFields, static (field, value) => field switch
            {
                "dhcp" => Project(value, DhcpFields, null),
                _ => Project(value, IsobootFields, null),
            }));
        }

        return sequence;
    }

    /// <summary>
    /// The <paramref name="fields"/> of <paramref name="value"/>, each converted by <paramref name="convertField"/>
    /// (or whole); a value that is not an object is converted whole.
    /// </summary>
    private static YamlNode Project(JsonElement value, string[] fields, Func<string, JsonElement, YamlNode>? convertField)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return Convert(value);
        }

        var map = new YamlMappingNode();
        foreach (var property in value.EnumerateObject())
        {
            // NameEquals compares the UTF-8 bytes: no string is made for the many names that are skipped.
            foreach (var field in fields)
            {
                if (property.NameEquals(field))
                {
                    Set(map, field, convertField is null ? Convert(property.Value) : convertField(field, property.Value));
                    break;
                }
            }
        }

        return map;
    }

    // JSON allows a repeated key and the API server's decoder keeps the last; YamlDotNet's Add would throw.
    private static void Set(YamlMappingNode map, string key, YamlNode value) => map.Children[new YamlScalarNode(key)] = value;
}
