using IsoCluster.Gateway.Admin;
using IsoCluster.Grains.Hosting;

namespace IsoCluster.Gateway.Hosting;

/// <summary>The gateway's settings: its own, then those of the silo it embeds.</summary>
internal static class GatewaySettings
{
    /// <summary>Flags that belong to ASP.NET Core's host and pass through to it.</summary>
    public static readonly string[] HostFlags = ["urls", "environment", "contentRoot", "applicationName"];

    // Kestrel's own keys for its default certificate, so every Kestrel setting stays available as well.
    public const string TlsCertificateKey = "Kestrel:Certificates:Default:Path";
    public const string TlsKeyKey = "Kestrel:Certificates:Default:KeyPath";

    public static IReadOnlyList<Setting> All { get; } =
    [
        new("urls", "urls", SettingKind.Value, "http://localhost:5000", "addresses BMCs read ISOs from (/iso and health), ';'-separated (ASP.NET Core)"),
        new("admin-urls", GatewayListeners.AdminUrlsKey, SettingKind.Value, GatewayListeners.DefaultAdminUrls, "addresses of the admin listener (boot page, /api, /metrics and health; never /iso), ';'-separated; empty: none"),
        new("mode", "Gateway:Mode", SettingKind.Value, "embedded", "embedded: run a silo in this process; client: join the cluster named by --orleans-clustering as an Orleans client"),
        new("tls-cert-file", TlsCertificateKey, SettingKind.Path, "none", "PEM (or PFX) certificate for https:// --urls; BMCs that accept only HTTPS virtual media need it"),
        new("tls-key-file", TlsKeyKey, SettingKind.Path, "none", "PEM private key of --tls-cert-file"),
        new("max-ranges", "Gateway:MaxRanges", SettingKind.Value, "16", "most ranges one request may ask for; more get the whole ISO (200)"),
        new("max-concurrent-requests", "Gateway:MaxConcurrentRequests", SettingKind.Value, "2048", "most /iso/ requests this gateway serves at once (about one per booting BMC); more get an immediate 503 with Retry-After"),
        new("gateway-cache-size", "Gateway:CacheSize", SettingKind.Value, "256MiB", "whole chunks this gateway keeps, so hot bytes need no cluster call (bytes, or KiB/MiB/GiB; 0 keeps none)"),
        new("gateway-max-chunk-fetches", "Gateway:MaxChunkFetches", SettingKind.Value, "16", "most chunk reads this gateway has in flight to the cluster at once; more wait their turn (bounds the memory of chunks crossing from silos)"),
        new("gateway-plan-max-age", "Gateway:BootPlanMaxAge", SettingKind.Value, "00:00:01", "longest a machine's boot plan is served without asking its grain; a Hardware change reaches new requests within it (hh:mm:ss)"),
        .. SiloSettings.All,
    ];

    public const string Usage =
        "IsoCluster gateway: serves /iso/<MAC>/<name>.iso with each machine's kernel parameters patched in.\n" +
        "Usage: dotnet run --project src/Gateway -- --urls http://127.0.0.1:8080 --iso-upstream-url <url or path> --hardware-file <file> [flags]";
}
