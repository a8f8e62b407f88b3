namespace IsoCluster.Grains.Machines;

/// <summary>Settings that shape every machine's kernel command line (configuration section <c>Boot</c>).</summary>
public sealed class BootOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Boot";

    /// <summary><c>syslog_host=</c>: where HookOS sends its logs, as host or host:port. Default: empty.</summary>
    public string SyslogHost { get; set; } = "";

    /// <summary><c>grpc_authority=</c>: the Tinkerbell server as host:port. Default: empty.</summary>
    public string TinkServerAddrPort { get; set; } = "";

    /// <summary><c>tinkerbell_tls=</c>: whether HookOS talks TLS to the Tinkerbell server. Default: false.</summary>
    public bool TinkServerUseTls { get; set; }

    /// <summary>Extra <c>k=v</c> tokens appended in the order given, separated by spaces. Default: none.</summary>
    public string ExtraKernelArgs { get; set; } = "";

    /// <summary>Whether to add <c>ipam=</c> built from the interface's DHCP fields. Default: false.</summary>
    public bool StaticIpamEnabled { get; set; }
}
