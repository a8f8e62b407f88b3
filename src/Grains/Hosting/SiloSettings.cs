namespace IsoCluster.Grains.Hosting;

/// <summary>The settings every process that hosts a silo understands.</summary>
public static class SiloSettings
{
    /// <summary>Hardware, kernel parameters, source ISOs, cache, upstream and local clustering.</summary>
    public static IReadOnlyList<Setting> All { get; } =
    [
        new("hardware-file", "Hardware:File", SettingKind.Path, "none", "YAML file of Tinkerbell Hardware objects; edits are picked up while running"),
        new("iso-upstream-url", "Iso:UpstreamUrl", SettingKind.UrlOrPath, "none", "source ISO used when the Hardware names none: an http(s) URL, a file path or a file:// URL"),
        new("iso-source-allow", "Iso:SourceAllow", SettingKind.List, "empty: ?sourceISO= is refused", "URL prefix a client may name with ?sourceISO="),
        new("iso-patch-magic-string", "Iso:MagicString", SettingKind.Value, "the HookOS 1024-character placeholder", "placeholder in the ISO replaced by each machine's kernel parameters"),
        new("iso-revalidate-interval", "Iso:RevalidateInterval", SettingKind.Value, "00:00:30", "how long an upstream ISO's length and validators are trusted (hh:mm:ss)"),
        new("iso-boot-session-idle", "Iso:BootSessionIdle", SettingKind.Value, "00:02:00", "a machine idle this long has finished booting; its next boot may see a newer upstream ISO"),
        new("iso-static-ipam-enabled", "Boot:StaticIpamEnabled", SettingKind.Switch, "false", "add ipam=<mac>:<vlan>:<ip>:<netmask>:<gateway>:<hostname>:<dns>:<search>:<ntp>"),
        new("syslog-host", "Boot:SyslogHost", SettingKind.Value, "empty", "syslog_host= kernel parameter"),
        new("tink-server-addr-port", "Boot:TinkServerAddrPort", SettingKind.Value, "empty", "grpc_authority= kernel parameter (host:port of the Tinkerbell server)"),
        new("tink-server-use-tls", "Boot:TinkServerUseTls", SettingKind.Switch, "false", "tinkerbell_tls= kernel parameter"),
        new("extra-kernel-args", "Boot:ExtraKernelArgs", SettingKind.Value, "empty", "extra space-separated k=v kernel parameters, appended in order"),
        new("cache-size", "Cache:Size", SettingKind.Value, "1GiB", "chunk cache per silo (bytes, or KiB/MiB/GiB)"),
        new("chunk-size", "Cache:ChunkSize", SettingKind.Value, "1MiB", "size of the aligned pieces ISOs are fetched and cached in"),
        new("upstream-timeout", "Upstream:Timeout", SettingKind.Value, "00:00:30", "longest one upstream exchange may take (hh:mm:ss)"),
        new("upstream-max-connections", "Upstream:MaxConnectionsPerServer", SettingKind.Value, "32", "connections per upstream server from one silo"),
        new("orleans-silo-port", "Orleans:SiloPort", SettingKind.Value, "11111", "silo-to-silo port (localhost clustering)"),
        new("orleans-gateway-port", "Orleans:GatewayPort", SettingKind.Value, "30000", "port Orleans clients (gateways) connect to"),
        new("orleans-cluster-id", "Orleans:ClusterId", SettingKind.Value, "dev", "Orleans cluster id shared by the silos and gateways of one deployment"),
        new("orleans-service-id", "Orleans:ServiceId", SettingKind.Value, "dev", "Orleans service id, stable across deployments"),
        new("orleans-primary-silo-port", "Orleans:PrimarySiloPort", SettingKind.Value, "this silo's port", "silo port of the primary silo to join (localhost clustering)"),
    ];
}
