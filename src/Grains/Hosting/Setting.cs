namespace IsoCluster.Grains.Hosting;

/// <summary>How a command-line flag takes its value.</summary>
public enum SettingKind
{
    /// <summary><c>--flag value</c> or <c>--flag=value</c>.</summary>
    Value = 0,

    /// <summary>A boolean: bare <c>--flag</c> means true; <c>--flag=true|false</c> also works.</summary>
    Switch = 1,

    /// <summary>Repeatable <c>--flag value</c>; each occurrence adds an item.</summary>
    List = 2,

    /// <summary>A file path; a relative one means the directory the command was run from.</summary>
    Path = 3,

    /// <summary>A URL, or else a file path resolved as <see cref="Path"/> is.</summary>
    UrlOrPath = 4,
}

/// <summary>One setting: its command-line flag, its configuration key, its default and what it does.</summary>
/// <param name="Flag">The flag without dashes, e.g. <c>cache-size</c>.</param>
/// <param name="ConfigKey">The configuration key, e.g. <c>Cache:Size</c> (environment: <c>Cache__Size</c>).</param>
/// <param name="Kind">How the flag takes its value.</param>
/// <param name="Default">The default as shown by <c>--help</c>.</param>
/// <param name="Description">One line for <c>--help</c>.</param>
public sealed record Setting(string Flag, string ConfigKey, SettingKind Kind, string Default, string Description)
{
    /// <summary>How messages name the setting: the flag and its configuration key.</summary>
    public string DisplayName => $"--{Flag} ({ConfigKey})";

    /// <summary>How the flag is written with its value, as <c>--help</c> and the README show it.</summary>
    public string Form => Kind switch
    {
        SettingKind.Switch => $"--{Flag}[=true|false]",
        SettingKind.List => $"--{Flag} <value> (repeatable)",
        SettingKind.Path => $"--{Flag} <path>",
        SettingKind.UrlOrPath => $"--{Flag} <url or path>",
        _ => $"--{Flag} <value>",
    };
}
