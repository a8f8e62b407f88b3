using System.Collections.Immutable;

namespace IsoCluster.Grains.Hardware;

/// <summary>
/// Shares one instance of each value that many machines repeat (namespaces, facility codes, netmasks, gateways,
/// DNS and NTP server lists, source ISOs), so a fleet held in memory for its whole life costs per machine only what
/// is really its own.
/// </summary>
/// <remarks>
/// Only fields whose values repeat across a fleet go through the pool: unique ones (names, addresses, hostnames)
/// would make it grow with every machine ever seen and never shrink. Not thread-safe: one reader uses it at a time.
/// </remarks>
internal sealed class HardwareStringPool
{
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ImmutableArray<string>> _lists = new(StringComparer.Ordinal);

    /// <summary>How many distinct strings and lists the pool holds.</summary>
    public int Count => _strings.Count + _lists.Count;

    public string? Intern(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (_strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        _strings.Add(value, value);
        return value;
    }

    public ImmutableArray<string> Intern(ImmutableArray<string> values)
    {
        if (values.IsDefaultOrEmpty)
        {
            return [];
        }

        // A separator that cannot occur in a YAML scalar read by the parser keeps ["a,b"] and ["a", "b"] apart.
        var key = values.Length == 1 ? values[0] : string.Join('\0', values);
        if (_lists.TryGetValue(key, out var shared))
        {
            return shared;
        }

        var builder = ImmutableArray.CreateBuilder<string>(values.Length);
        foreach (var value in values)
        {
            builder.Add(Intern(value) ?? value);
        }

        var interned = builder.MoveToImmutable();
        _lists.Add(key, interned);
        return interned;
    }
}
