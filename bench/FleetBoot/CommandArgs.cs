using System.Globalization;

namespace IsoCluster.FleetBoot;

/// <summary><c>--name value</c> pairs and bare <c>--flag</c>s of one command line, with the names it accepts.</summary>
internal sealed class CommandArgs
{
    private readonly Dictionary<string, string> _values;

    private CommandArgs(Dictionary<string, string> values) => _values = values;

    /// <summary>Parses <paramref name="args"/>; a name followed by another name or by nothing is a flag set to true.</summary>
    public static CommandArgs Parse(ReadOnlySpan<string> args, IReadOnlyCollection<string> known)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || !known.Contains(name[2..]))
            {
                throw new ArgumentException($"unknown argument '{name}'; expected one of --{string.Join(", --", known)}");
            }

            var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            values[name[2..]] = hasValue ? args[++i] : "true";
        }

        return new CommandArgs(values);
    }

    /// <summary>The value of <c>--<paramref name="name"/></c>; an error when it is missing.</summary>
    public string Required(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required");

    /// <summary>The value of <c>--<paramref name="name"/></c>, or null when it is missing.</summary>
    public string? Optional(string name) => _values.GetValueOrDefault(name);

    /// <summary>Whether the bare flag <c>--<paramref name="name"/></c> was given.</summary>
    public bool Flag(string name) => _values.TryGetValue(name, out var value) && bool.Parse(value);

    /// <summary>The integer value of <c>--<paramref name="name"/></c> within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Integer(string name, int fallback, int min, int max)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new ArgumentException($"--{name} must be a whole number from {min} to {max}, not '{text}'");
        }

        return value;
    }
}
