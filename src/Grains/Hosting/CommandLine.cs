using System.Globalization;
using System.Text;

namespace IsoCluster.Grains.Hosting;

/// <summary>
/// Turns IsoCluster flags into configuration values. Bare boolean switches are accepted anywhere on the line
/// (the stock command-line provider would swallow the next flag as their value), list flags may repeat, and
/// an unknown flag is an error rather than a silently ignored typo.
/// </summary>
public sealed class CommandLine
{
    private CommandLine(Dictionary<string, string?> values, string[] passThrough, bool helpRequested, List<string> errors)
    {
        Values = values;
        PassThroughArgs = passThrough;
        HelpRequested = helpRequested;
        Errors = errors;
    }

    /// <summary>Configuration values keyed by configuration key.</summary>
    public IReadOnlyDictionary<string, string?> Values { get; }

    /// <summary>Arguments for the host itself (such as <c>--urls</c>), untouched.</summary>
    public IReadOnlyList<string> PassThroughArgs { get; }

    /// <summary>Whether <c>--help</c> or <c>-h</c> was given.</summary>
    public bool HelpRequested { get; }

    /// <summary>Every problem found, each naming the flag.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>Parses <paramref name="args"/> against <paramref name="settings"/>; <paramref name="hostFlags"/> pass through.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args, IReadOnlyList<Setting> settings, IReadOnlyCollection<string> hostFlags)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(hostFlags);
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var listCounts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var passThrough = new List<string>();
        var errors = new List<string>();
        var help = false;

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                help = true;
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                errors.Add($"unexpected argument '{arg}': settings are given as --flag value");
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg[2..] : arg[2..equals];
            string? inline = equals < 0 ? null : arg[(equals + 1)..];
            var setting = Find(settings, name);
            if (setting is null)
            {
                if (Contains(hostFlags, name))
                {
                    passThrough.Add(arg);
                    if (inline is null && i + 1 < args.Count)
                    {
                        passThrough.Add(args[++i]);
                    }
                }
                else
                {
                    errors.Add($"unknown flag --{name} (see --help)");

                    // Its value would otherwise be reported again as a stray argument.
                    if (inline is null && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        i++;
                    }
                }

                continue;
            }

            string? value;
            if (setting.Kind == SettingKind.Switch)
            {
                value = inline ?? "true";
                if (!bool.TryParse(value, out _))
                {
                    errors.Add($"--{setting.Flag} takes true or false, not '{value}'");
                    continue;
                }
            }
            else if (inline is not null)
            {
                value = inline;
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                errors.Add($"--{setting.Flag} needs a value");
                continue;
            }

            if (setting.Kind == SettingKind.List)
            {
                listCounts.TryGetValue(setting.ConfigKey, out var index);
                values[$"{setting.ConfigKey}:{index.ToString(CultureInfo.InvariantCulture)}"] = value;
                listCounts[setting.ConfigKey] = index + 1;
            }
            else
            {
                values[setting.ConfigKey] = value;
            }
        }

        return new CommandLine(values, [.. passThrough], help, errors);
    }

    /// <summary>The <c>--help</c> text: usage, then every flag with its default and configuration key.</summary>
    public static string Help(string usage, IReadOnlyList<Setting> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var text = new StringBuilder();
        text.AppendLine(usage).AppendLine();
        text.AppendLine("Every flag can also be set in appsettings.json or the environment by its key (':' becomes '__').");
        text.AppendLine("A relative path, on the command line or in configuration, means the directory the command runs from.");
        text.AppendLine();
        foreach (var setting in settings)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {setting.Form}").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"      {setting.Description}").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"      default: {setting.Default}; key: {setting.ConfigKey}").AppendLine();
        }

        return text.ToString();
    }

    private static Setting? Find(IReadOnlyList<Setting> settings, string flag)
    {
        foreach (var setting in settings)
        {
            if (string.Equals(setting.Flag, flag, StringComparison.OrdinalIgnoreCase))
            {
                return setting;
            }
        }

        return null;
    }

    private static bool Contains(IReadOnlyCollection<string> flags, string name)
    {
        foreach (var flag in flags)
        {
            if (string.Equals(flag, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
