using Microsoft.Extensions.Configuration;

namespace IsoCluster.Grains.Hosting;

/// <summary>
/// Makes every relative path an operator gives mean the directory the command was run from (DESIGN invariant 9),
/// whichever configuration source it came from and whatever directory the process later works in.
/// </summary>
public static class UserPaths
{
    /// <summary>
    /// Rewrites each <see cref="SettingKind.Path"/> and <see cref="SettingKind.UrlOrPath"/> value of
    /// <paramref name="configuration"/> that is a relative path into an absolute one under
    /// <paramref name="baseDirectory"/>, as a configuration source above all others.
    /// </summary>
    /// <param name="configuration">The configuration, with every other source already added.</param>
    /// <param name="settings">The settings the process understands.</param>
    /// <param name="baseDirectory">The directory the command was run from (normally the current directory).</param>
    public static void Resolve(IConfigurationManager configuration, IReadOnlyList<Setting> settings, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(settings);
        var resolved = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in settings)
        {
            if (setting.Kind is SettingKind.Path or SettingKind.UrlOrPath
                && configuration[setting.ConfigKey] is { Length: > 0 } value
                && !(setting.Kind == SettingKind.UrlOrPath && LooksLikeUrl(value))
                && !Path.IsPathFullyQualified(value))
            {
                resolved[setting.ConfigKey] = Path.GetFullPath(value, baseDirectory);
            }
        }

        if (resolved.Count > 0)
        {
            configuration.AddInMemoryCollection(resolved);
        }
    }

    /// <summary>Whether <paramref name="value"/> names a URL (<c>scheme://...</c>) rather than a file path.</summary>
    public static bool LooksLikeUrl(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var separator = value.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return false;
        }

        // A URI scheme is a letter followed by letters, digits, '+', '-' or '.' (RFC 3986 §3.1).
        for (var i = 0; i < separator; i++)
        {
            var c = value[i];
            if (!(char.IsAsciiLetter(c) || (i > 0 && (char.IsAsciiDigit(c) || c is '+' or '-' or '.'))))
            {
                return false;
            }
        }

        return true;
    }
}
