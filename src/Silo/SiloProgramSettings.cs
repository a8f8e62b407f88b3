using IsoCluster.Grains.Hosting;

namespace IsoCluster.Silo;

/// <summary>The stand-alone silo's settings: its HTTP listener, then everything a silo understands.</summary>
internal static class SiloProgramSettings
{
    /// <summary>The silo's HTTP listener when --urls is not given; a gateway's default (5000) would collide on one host.</summary>
    public const string DefaultUrls = "http://localhost:8081";

    public const string Usage =
        "IsoCluster silo: hosts the machine, source-ISO and chunk grains.\n" +
        "Usage: dotnet run --project src/Silo -- --hardware-file <file> --iso-upstream-url <url or path> [flags]";

    /// <summary>Flags that belong to ASP.NET Core's host and pass through to it.</summary>
    public static readonly string[] HostFlags = ["urls", "environment", "contentRoot", "applicationName"];

    public static IReadOnlyList<Setting> All { get; } =
    [
        new("urls", "urls", SettingKind.Value, DefaultUrls, "addresses of the silo's HTTP listener (health endpoints, /metrics and the admin API), ';'-separated"),
        .. SiloSettings.All,
    ];

    /// <summary>Defaults beneath every configuration source.</summary>
    public static IReadOnlyDictionary<string, string?> Defaults { get; } = new Dictionary<string, string?> { ["urls"] = DefaultUrls };
}
