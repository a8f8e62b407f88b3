namespace IsoCluster.Grains.Hosting;

/// <summary>The settings every process that hosts a silo understands.</summary>
public static class SiloSettings
{
    /// <summary>Hardware, kernel parameters, source ISOs, cache, upstream, clustering and shutdown.</summary>
    public static IReadOnlyList<Setting> All { get; } =
    [
        new("hardware-source", "Hardware:Source", SettingKind.Value, "file", "where Hardware comes from: file (--hardware-file) or kubernetes (list and watch hardware.tinkerbell.org objects)"),
        new("hardware-file", "Hardware:File", SettingKind.Path, "none", "YAML file of Tinkerbell Hardware objects; edits are picked up while running"),
        new("hardware-namespace", "Hardware:Namespace", SettingKind.Value, "empty: every namespace", "namespace whose Hardware objects --hardware-source kubernetes watches"),
        new("kubeconfig", "Hardware:Kubeconfig", SettingKind.Path, "the pod's service account in a pod, else KUBECONFIG or ~/.kube/config", "kubeconfig file for --hardware-source kubernetes"),
        new("iso-upstream-url", "Iso:UpstreamUrl", SettingKind.UrlOrPath, "none", "source ISO used when the Hardware names none: an http(s) URL, a file path or a file:// URL"),
        new("iso-source-allow", "Iso:SourceAllow", SettingKind.List, "empty: ?sourceISO= is refused", "URL prefix a client may name with ?sourceISO="),
        new("iso-source-allow-address", "Iso:SourceAllowAddress", SettingKind.List, "empty: only public addresses", "IP address or CIDR block a ?sourceISO= host may resolve to although it is loopback, link-local, private or reserved"),
        new("iso-patch-magic-string", "Iso:MagicString", SettingKind.Value, "the HookOS 1024-character placeholder", "placeholder in the ISO replaced by each machine's kernel parameters"),
        new("iso-revalidate-interval", "Iso:RevalidateInterval", SettingKind.Value, "00:00:30", "how long an upstream ISO's length and validators are trusted (hh:mm:ss)"),
        new("iso-boot-session-idle", "Iso:BootSessionIdle", SettingKind.Value, "00:02:00", "a machine idle this long has finished booting; its next boot may see a newer upstream ISO"),
        new("iso-static-ipam-enabled", "Boot:StaticIpamEnabled", SettingKind.Switch, "false", "add ipam=<mac>:<vlan>:<ip>:<netmask>:<gateway>:<hostname>:<dns>:<search>:<ntp>"),
        new("syslog-host", "Boot:SyslogHost", SettingKind.Value, "empty", "syslog_host= kernel parameter"),
        new("tink-server-addr-port", "Boot:TinkServerAddrPort", SettingKind.Value, "empty", "grpc_authority= kernel parameter (host:port of the Tinkerbell server)"),
        new("tink-server-use-tls", "Boot:TinkServerUseTls", SettingKind.Switch, "false", "tinkerbell_tls= kernel parameter"),
        new("extra-kernel-args", "Boot:ExtraKernelArgs", SettingKind.Value, "empty", "extra space-separated kernel parameters, first on the command line (as Tinkerbell's smee puts them)"),
        new("cache-size", "Cache:Size", SettingKind.Value, "1GiB", "chunk cache per silo (bytes, or KiB/MiB/GiB)"),
        new("chunk-size", "Cache:ChunkSize", SettingKind.Value, "1MiB", "size of the aligned pieces ISOs are fetched and cached in"),
        new("upstream-timeout", "Upstream:Timeout", SettingKind.Value, "00:00:30", "longest one upstream request may take, however steadily its bytes come (hh:mm:ss)"),
        new("upstream-stall-timeout", "Upstream:StallTimeout", SettingKind.Value, "00:00:01", "an upstream request that gets no byte for this long is abandoned and retried (hh:mm:ss)"),
        new("upstream-retry-deadline", "Upstream:RetryDeadline", SettingKind.Value, "00:00:03", "a failed upstream fetch is retried, with backoff and jitter, only this long after it began; keep it under a BMC's 5 s (hh:mm:ss)"),
        new("upstream-max-connections", "Upstream:MaxConnectionsPerServer", SettingKind.Value, "32", "concurrent fetches (and connections) per upstream server from one silo"),
        new("upstream-max-queued-fetches", "Upstream:MaxQueuedFetches", SettingKind.Value, "256", "fetches per upstream server one silo queues beyond --upstream-max-connections; more get 503"),
        new("orleans-clustering", "Cluster:Membership", SettingKind.Value, "localhost", "membership: localhost (one host, through a primary silo) or redis (any number of silos and gateways on any hosts)"),
        new("orleans-redis", "Cluster:Redis", SettingKind.Value, "none", "StackExchange.Redis configuration string for --orleans-clustering redis, e.g. 10.0.0.7:6379,password=..."),
        new("orleans-advertised-ip", "Cluster:AdvertisedIp", SettingKind.Value, "POD_IP, else the host's first non-loopback IPv4 (loopback with localhost clustering)", "address other silos and gateways reach this silo at"),
        new("orleans-silo-port", "Cluster:SiloPort", SettingKind.Value, "11111", "silo-to-silo port"),
        new("orleans-gateway-port", "Cluster:GatewayPort", SettingKind.Value, "30000", "port gateways (Orleans clients) connect to; a client-mode gateway with localhost clustering connects to this port"),
        new("orleans-cluster-id", "Cluster:ClusterId", SettingKind.Value, "dev", "Orleans cluster id shared by the silos and gateways of one deployment"),
        new("orleans-service-id", "Cluster:ServiceId", SettingKind.Value, "dev", "Orleans service id, stable across deployments"),
        new("orleans-primary-silo-port", "Cluster:PrimarySiloPort", SettingKind.Value, "this silo's port", "silo port of the primary silo to join (localhost clustering)"),
        new("orleans-probe-timeout", "Cluster:ProbeTimeout", SettingKind.Value, "00:00:01", "how long a liveness probe of another silo may take; with the missed-probes limit, how fast a dead silo is detected"),
        new("orleans-missed-probes-limit", "Cluster:MissedProbesLimit", SettingKind.Value, "3", "missed probes after which a silo votes another dead (a killed silo is declared dead in about limit x timeout)"),
        new("shutdown-delay", "Host:ShutdownDelay", SettingKind.Value, "00:00:00", "after SIGTERM, keep serving this long while not ready, so a load balancer stops sending new connections"),
        new("drain-timeout", "Host:DrainTimeout", SettingKind.Value, "00:00:20", "after SIGTERM (and the delay), the longest in-flight responses and grain deactivation may take"),
        new("admin-token-file", "Admin:TokenFile", SettingKind.Path, "none: admin calls that change something get 403", "file holding the bearer token for admin API calls that change something (prewarm, purge); re-read when it changes"),
        new("log-format", "Logging:Console:FormatterName", SettingKind.Value, "simple", "console log format: simple, json (one JSON object per line, for log collectors) or systemd"),
    ];
}
