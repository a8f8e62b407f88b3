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
/// <c>metadata.namespace</c>, <c>metadata.resourceVersion</c>, <c>spec.metadata.facility</c>,
/// <c>spec.interfaces</c>): API objects also carry managedFields, status and user data, kilobytes per object that
/// would otherwise be copied for 100,000 objects at every list. A value of an unexpected type at one of those paths
/// is converted whole, so the reader's error describes it as it would in a file.
/// </remarks>
internal static class HardwareJson
{
    private static readonly string[] MetadataFields = ["name", "namespace", "resourceVersion"];
    private static readonly string[] SpecMetadataFields = ["facility"];

    /// <summary>The parts of <paramref name="hardware"/> (a JSON object) that the reader reads.</summary>
    public static YamlMappingNode ToYaml(JsonElement hardware)
    {
        if (hardware.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"expected a JSON object, found {hardware.ValueKind}", nameof(hardware));
        }

        var node = new YamlMappingNode();
        foreach (var property in hardware.EnumerateObject())
        {
            switch (property.Name)
            {
                case "apiVersion" or "kind":
                    Set(node, property.Name, Convert(property.Value));
                    break;
                case "metadata":
                    Set(node, property.Name, Project(property.Value, MetadataFields));
                    break;
                case "spec":
                    Set(node, property.Name, ProjectSpec(property.Value));
                    break;
            }
        }

        return node;
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

    private static YamlNode ProjectSpec(JsonElement spec)
    {
        if (spec.ValueKind != JsonValueKind.Object)
        {
            return Convert(spec);
        }

        var map = new YamlMappingNode();
        foreach (var property in spec.EnumerateObject())
        {
            switch (property.Name)
            {
                case "interfaces":
                    Set(map, property.Name, Convert(property.Value));
                    break;

                // spec.metadata also holds the instance, with its user data: only the facility is read.
                case "metadata":
                    Set(map, property.Name, Project(property.Value, SpecMetadataFields));
                    break;
            }
        }

        return map;
    }

    private static YamlNode Project(JsonElement value, string[] fields)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return Convert(value);
        }

        var map = new YamlMappingNode();
        foreach (var property in value.EnumerateObject())
        {
            if (Array.IndexOf(fields, property.Name) >= 0)
            {
                Set(map, property.Name, Convert(property.Value));
            }
        }

        return map;
    }

    // JSON allows a repeated key and the API server's decoder keeps the last; YamlDotNet's Add would throw.
    private static void Set(YamlMappingNode map, string key, YamlNode value) => map.Children[new YamlScalarNode(key)] = value;
}
