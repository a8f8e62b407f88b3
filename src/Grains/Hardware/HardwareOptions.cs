namespace IsoCluster.Grains.Hardware;

/// <summary>Where Hardware objects come from (configuration section <c>Hardware</c>).</summary>
public sealed class HardwareOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Hardware";

    /// <summary>
    /// A YAML file of Tinkerbell Hardware objects (multi-document or <c>kind: List</c>), re-read when it changes.
    /// Default: none.
    /// </summary>
    public string? File { get; set; }

    /// <summary>How often the file's timestamp and size are checked for edits, as a backstop to file events. Default: 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
}
