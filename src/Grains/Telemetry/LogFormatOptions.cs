using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Telemetry;

/// <summary>
/// The console log format, <c>--log-format</c>: ASP.NET Core's own <c>Logging:Console:FormatterName</c>, so the flag, the
/// configuration key and the environment variable (<c>Logging__Console__FormatterName</c>) are one setting.
/// </summary>
public sealed class LogFormatOptions
{
    /// <summary>The configuration section, the console logger's own.</summary>
    public const string SectionName = "Logging:Console";

    /// <summary>
    /// <c>simple</c> (the default: readable lines), <c>json</c> (one JSON object per line, with the event id and every
    /// message argument as a field, for a log collector) or <c>systemd</c> (one line with a syslog priority prefix).
    /// </summary>
    public string? FormatterName { get; set; }
}

/// <summary>Refuses a console format the console logger would silently replace with its default.</summary>
internal sealed class LogFormatOptionsValidator : IValidateOptions<LogFormatOptions>
{
    private static readonly string[] Known = ["simple", "json", "systemd"];

    /// <summary>Whether <paramref name="formatterName"/> is one of the console logger's own formats.</summary>
    public static bool IsKnown(string formatterName) => Known.Contains(formatterName, StringComparer.OrdinalIgnoreCase);

    public ValidateOptionsResult Validate(string? name, LogFormatOptions options) =>
        string.IsNullOrEmpty(options.FormatterName) || IsKnown(options.FormatterName)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"--log-format (Logging:Console:FormatterName) must be simple, json or systemd, is '{options.FormatterName}'");
}
