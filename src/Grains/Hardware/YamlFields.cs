using System.Collections.Immutable;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace IsoCluster.Grains.Hardware;

/// <summary>Collects parse errors, each prefixed with the file and the object being read.</summary>
/// <param name="sourceName">What to call the text, usually the file name.</param>
/// <param name="withLines">
/// Whether errors name the line: not for objects received as JSON from the API, whose nodes are built by code and
/// whose lines the operator never saw.
/// </param>
internal sealed class HardwareErrors(string sourceName, bool withLines = true)
{
    private readonly List<string> _errors = [];

    /// <summary>Where in the file the current object is, e.g. <c>document 2 (Hardware 'sm01')</c>.</summary>
    public string Location { get; set; } = "";

    public int Count => _errors.Count;

    public void Add(string path, YamlNode? node, string message) =>
        _errors.Add($"{sourceName}: {Location}: {path}: {message}{LineSuffix(node)}");

    public void AddAtLocation(YamlNode? node, string message) =>
        _errors.Add($"{sourceName}: {Location}: {message}{LineSuffix(node)}");

    public void AddForStream(Mark mark, string message) =>
        _errors.Add($"{sourceName}: line {mark.Line}, column {mark.Column}: {message}");

    public ImmutableArray<string> ToImmutableArray() => [.. _errors];

    // Nodes built by code rather than parsed carry no real position; saying "line 0" or "line 1" would mislead.
    private string LineSuffix(YamlNode? node) =>
        !withLines || node is null || node.Start.Line <= 0 ? "" : $" (line {node.Start.Line})";
}

/// <summary>Typed, error-reporting reads of fields from YamlDotNet's representation model.</summary>
internal static class YamlFields
{
    /// <summary>The value under <paramref name="key"/>, or null when the key is absent or the value is YAML null.</summary>
    public static YamlNode? Get(YamlMappingNode map, string key)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode { Value: var name } && name == key)
            {
                return IsNull(v) ? null : v;
            }
        }

        return null;
    }

    public static string? ReadString(HardwareErrors errors, YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode { Value: var value }:
                return string.IsNullOrEmpty(value) ? null : value;
            default:
                errors.Add(path, node, $"expected a string, found {Describe(node)}");
                return null;
        }
    }

    public static YamlMappingNode? ReadMapping(HardwareErrors errors, YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null or YamlMappingNode)
        {
            return (YamlMappingNode?)node;
        }

        errors.Add(path, node, $"expected a mapping, found {Describe(node)}");
        return null;
    }

    public static YamlSequenceNode? ReadSequence(HardwareErrors errors, YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null or YamlSequenceNode)
        {
            return (YamlSequenceNode?)node;
        }

        errors.Add(path, node, $"expected a list, found {Describe(node)}");
        return null;
    }

    /// <summary>
    /// A list of strings. A single string is accepted too and split on commas, because hand-written files often say
    /// <c>name_servers: 1.1.1.1,8.8.8.8</c>; empty entries are dropped.
    /// </summary>
    public static ImmutableArray<string> ReadStringList(HardwareErrors errors, YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        switch (node)
        {
            case null:
                return [];
            case YamlScalarNode { Value: var value }:
                return SplitCommas(value);
            case YamlSequenceNode sequence:
                var builder = ImmutableArray.CreateBuilder<string>(sequence.Children.Count);
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    var item = sequence.Children[i];
                    if (item is YamlScalarNode { Value: var itemValue })
                    {
                        if (!IsNull(item) && !string.IsNullOrEmpty(itemValue))
                        {
                            builder.Add(itemValue);
                        }
                    }
                    else
                    {
                        errors.Add($"{path}[{i}]", item, $"expected a string, found {Describe(item)}");
                    }
                }

                return builder.DrainToImmutable();
            default:
                errors.Add(path, node, $"expected a list of strings, found {Describe(node)}");
                return [];
        }
    }

    public static ImmutableArray<string> SplitCommas(string? value) =>
        string.IsNullOrEmpty(value)
            ? []
            : [.. value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>Whether the node is YAML null: <c>~</c>, <c>null</c> or nothing, unquoted (YAML 1.2 core schema).</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: var value }
        && value is null or "" or "~" or "null" or "Null" or "NULL";

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode { Value: var value } => $"'{value}'",
        _ => "an alias",
    };
}
