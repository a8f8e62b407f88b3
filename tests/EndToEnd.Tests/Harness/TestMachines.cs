namespace IsoCluster.EndToEnd.Tests.Harness;

/// <summary>
/// The two machines of the end-to-end tests, the boot settings they are served with, and the kernel parameters
/// expected for each, written out by hand from the rules rather than produced by the product's builder,
/// so that a builder bug cannot hide behind a reference computed by the same code.
/// </summary>
public static class TestMachines
{
    /// <summary>
    /// A rack server: facility code, VLAN 400, full static addressing, DNS and NTP servers, search domain, and its
    /// own <c>isoboot.sourceISO</c>.
    /// </summary>
    public const string Mac1 = "b4:96:91:6e:2c:10";

    /// <summary>
    /// A second machine whose facility names its own console (so no default consoles), no VLAN, partial addressing
    /// (no gateway, no NTP, no search domain), written upper-case in the Hardware file, and no source ISO of its
    /// own (so <c>--iso-upstream-url</c> applies).
    /// </summary>
    public const string Mac2 = "b4:96:91:6e:2c:20";

    /// <summary>A MAC that no Hardware object has.</summary>
    public const string UnknownMac = "b4:96:91:6e:2c:99";

    public const string SyslogHost = "10.0.0.5:514";

    public const string TinkServer = "10.0.0.5:42113";

    public const string ExtraKernelArgs = "tink_worker_image=quay.io/tinkerbell/tink-worker:v0.10.0 k2=v2";

    // Tinkerbell's order: extra args, facility and consoles, vlan_id, hw_addr, syslog_host, grpc_authority,
    // tinkerbell_tls, worker_id, ipam=<dashed mac>:<vlan>:<ip>:<netmask>:<gateway>:<hostname>:<dns>:<search>:<ntp>.
    public const string Mac1KernelParams =
        "tink_worker_image=quay.io/tinkerbell/tink-worker:v0.10.0 k2=v2 " +
        "facility=dc1-hall2 console=ttyAMA0 console=ttyS0 console=tty0 console=tty1 console=ttyS1 vlan_id=400 " +
        "hw_addr=b4:96:91:6e:2c:10 syslog_host=10.0.0.5:514 grpc_authority=10.0.0.5:42113 tinkerbell_tls=true " +
        "worker_id=b4:96:91:6e:2c:10 " +
        "ipam=b4-96-91-6e-2c-10:400:10.40.0.11:255.255.255.0:10.40.0.1:sm01:10.40.0.2,10.40.0.3:dc1.example.com:10.40.0.2";

    // A facility code is a space-separated list (runs of spaces give no empty tokens); one holding "console="
    // replaces the default consoles (a per-machine console, as Tinkerbell operators set it); empty IPAM fields keep
    // their place.
    public const string Mac2KernelParams =
        "tink_worker_image=quay.io/tinkerbell/tink-worker:v0.10.0 k2=v2 " +
        "facility=lab1 console=ttyS1,115200n8 " +
        "hw_addr=b4:96:91:6e:2c:20 syslog_host=10.0.0.5:514 grpc_authority=10.0.0.5:42113 tinkerbell_tls=true " +
        "worker_id=b4:96:91:6e:2c:20 " +
        "ipam=b4-96-91-6e-2c-20::10.40.1.12:255.255.255.0::sm02:10.40.1.2::";

    /// <summary>Both machines, for theories.</summary>
    public static TheoryData<string> Macs => new() { Mac1, Mac2 };

    /// <summary>The expected (unpadded) kernel parameters of <paramref name="mac"/>.</summary>
    public static string KernelParams(string mac) => mac switch
    {
        Mac1 => Mac1KernelParams,
        Mac2 => Mac2KernelParams,
        _ => throw new ArgumentException($"{mac} is not a test machine.", nameof(mac)),
    };

    /// <summary>The boot flags the expected parameters assume, as given on the gateway's command line.</summary>
    public static IReadOnlyList<string> BootFlags { get; } =
    [
        "--syslog-host", SyslogHost,
        "--tink-server-addr-port", TinkServer,
        "--tink-server-use-tls",
        "--extra-kernel-args", ExtraKernelArgs,
        "--iso-static-ipam-enabled",
    ];

    /// <summary>The same settings as <see cref="BootFlags"/>, as configuration keys (for TestCluster silos).</summary>
    public static IReadOnlyDictionary<string, string?> BootConfiguration { get; } = new Dictionary<string, string?>
    {
        ["Boot:SyslogHost"] = SyslogHost,
        ["Boot:TinkServerAddrPort"] = TinkServer,
        ["Boot:TinkServerUseTls"] = "true",
        ["Boot:ExtraKernelArgs"] = ExtraKernelArgs,
        ["Boot:StaticIpamEnabled"] = "true",
    };

    /// <summary>
    /// The Hardware file for both machines, in the shape <c>kubectl get hardware -o yaml</c> produces (one document
    /// each). <paramref name="mac1SourceIso"/> becomes machine 1's <c>isoboot.sourceISO</c>.
    /// </summary>
    public static string HardwareYaml(string mac1SourceIso) => $"""
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata:
          name: sm01
          namespace: tink-system
        spec:
          metadata:
            facility:
              facility_code: dc1-hall2
          interfaces:
            - dhcp:
                mac: "{Mac1}"
                hostname: sm01
                vlan_id: "400"
                arch: x86_64
                uefi: true
                ip:
                  address: 10.40.0.11
                  netmask: 255.255.255.0
                  gateway: 10.40.0.1
                  family: 4
                name_servers:
                  - 10.40.0.2
                  - 10.40.0.3
                time_servers:
                  - 10.40.0.2
                domain_name: dc1.example.com
              netboot:
                allowPXE: false
                allowWorkflow: true
              isoboot:
                sourceISO: "{mac1SourceIso}"
        ---
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata:
          name: sm02
          namespace: tink-system
        spec:
          metadata:
            facility:
              facility_code: "  lab1   console=ttyS1,115200n8 "
          interfaces:
            - dhcp:
                mac: "{Mac2.ToUpperInvariant()}"
                hostname: sm02
                ip:
                  address: 10.40.1.12
                  netmask: 255.255.255.0
                name_servers:
                  - 10.40.1.2

        """;
}
