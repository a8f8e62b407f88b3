using IsoCluster.TestSupport;
using Xunit.Abstractions;

namespace IsoCluster.Boot.Tests;

/// <summary>
/// Real machines boot through IsoCluster: two QEMU VMs read the boot fixture through the gateway with the curl
/// block driver (range requests, like a BMC's virtual media), concurrently, and each kernel must see exactly its
/// own Tinkerbell parameters in /proc/cmdline. Slow (two TCG boots per test): Category=Boot.
/// </summary>
[Trait("Category", "Boot")]
public sealed class QemuBootTests(BootFixture fixture, ITestOutputHelper output) : IClassFixture<BootFixture>
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(4);

    private static readonly Machine[] s_machines =
    [
        new("52:54:00:12:34:01", "hall1", "101", "10.1.0.11", "255.255.255.0", "10.1.0.1", "node01", "10.1.0.2", "a.example", "10.1.0.3"),
        new("52:54:00:12:34:02", "hall2 console=ttyS0,115200n8", "202", "10.2.0.22", "255.255.0.0", "10.2.0.1", "node02", "10.2.0.2,10.2.0.4", "b.example,c.example", "10.2.0.5"),
    ];

    [Theory]
    [InlineData("http")]
    [InlineData("https")]
    public async Task Boot_TwoMachinesConcurrently_EachKernelSeesItsOwnParameters(string scheme)
    {
        using var work = new TempDirectory();
        await using var upstream = await UpstreamServer.StartAsync();
        upstream.SetFile("hook.iso", fixture.Iso);
        var hardware = Path.Combine(work.Path, "hardware.yaml");
        await File.WriteAllTextAsync(hardware, string.Concat(s_machines.Select(m => m.Yaml())));

        List<string> settings =
        [
            "--iso-upstream-url", upstream.Url("hook.iso"),
            "--hardware-file", hardware,
            "--syslog-host", "192.0.2.10",
            "--tink-server-addr-port", "192.0.2.10:42113",
            "--tink-server-use-tls",
            "--extra-kernel-args", "tink_worker_image=quay.io/tinkerbell/tink-worker:latest intel_iommu=on",
            "--iso-static-ipam-enabled",
        ];
        if (scheme == "https")
        {
            settings.AddRange(WriteTestCertificate(work.Path));
        }

        await using var gateway = await GatewayInstance.StartAsync(settings, scheme: scheme);
        var boots = s_machines.Select(m => QemuMachine.BootAsync(new Uri(gateway.BaseAddress, $"iso/{m.Mac}/hook.iso"), work.Path, BootTimeout, CancellationToken.None));
        var outcomes = await Task.WhenAll(boots);

        Report(gateway, upstream, outcomes);
        for (var i = 0; i < s_machines.Length; i++)
        {
            var machine = s_machines[i];
            var other = s_machines[1 - i];
            var cmdline = outcomes[i].KernelCommandLine;
            Assert.True(cmdline is not null, $"{machine.Mac} did not print its command line; serial log:\n{outcomes[i].SerialLog}");
            Assert.Equal($"BOOT_IMAGE=/boot/vmlinuz {machine.ExpectedParams()}", cmdline);
            Assert.DoesNotContain(other.Mac, cmdline, StringComparison.Ordinal);
            Assert.DoesNotContain("464vn90e7rbj08xbwdjejmdf4it17c5", cmdline, StringComparison.Ordinal);
        }

        // DESIGN invariant 4: however the two VMs' reads interleave, each chunk came from the upstream once.
        var chunkFetches = upstream.Requests.Where(r => r.Range != "bytes=0-0").GroupBy(r => r.Range).ToList();
        Assert.All(chunkFetches, fetch => Assert.Single(fetch));
    }

    private void Report(GatewayInstance gateway, UpstreamServer upstream, BootOutcome[] outcomes)
    {
        for (var i = 0; i < s_machines.Length; i++)
        {
            var all = gateway.Requests.Where(r => r.Path.Contains(s_machines[i].Mac, StringComparison.Ordinal)).ToList();
            var requests = all.Where(r => r.Method == "GET").ToList();
            var sizes = requests.Select(r => r.ContentLength ?? 0).Order().ToList();
            output.WriteLine(
                $"{s_machines[i].Mac}: booted in {outcomes[i].Elapsed.TotalSeconds:0.0} s; {all.Count - requests.Count} HEAD and {requests.Count} GET requests " +
                $"({requests.Count(r => r.Range is not null)} with Range, {requests.Count(r => r.StatusCode == 206)} answered 206); " +
                $"GET sizes min {sizes.FirstOrDefault()} / median {(sizes.Count > 0 ? sizes[sizes.Count / 2] : 0)} / max {sizes.LastOrDefault()} bytes; " +
                $"{sizes.Sum()} bytes in all");
        }

        var fetches = upstream.Requests.Where(r => r.Range != "bytes=0-0").ToList();
        output.WriteLine(
            $"upstream: {upstream.Requests.Count} requests, {fetches.Count} chunk fetches, " +
            $"{fetches.Select(r => r.Range).Distinct().Count()} distinct chunks (ISO is {fixture.Iso.Length} bytes)");
    }

    private static string[] WriteTestCertificate(string directory)
    {
        var (certificateFile, keyFile) = TestCertificate.WritePem(directory);
        return ["--tls-cert-file", certificateFile, "--tls-key-file", keyFile];
    }

    private sealed record Machine(
        string Mac, string Facility, string Vlan, string Ip, string Netmask, string Gateway, string Hostname, string Dns, string Search, string Ntp)
    {
        // Written out by hand rather than by the product's builder, so the test checks the builder too. A facility
        // that names a console replaces the default consoles (Tinkerbell's per-machine console).
        public string ExpectedParams() =>
            "tink_worker_image=quay.io/tinkerbell/tink-worker:latest intel_iommu=on " +
            $"facility={Facility} " +
            (Facility.Contains("console=", StringComparison.Ordinal) ? "" : "console=ttyAMA0 console=ttyS0 console=tty0 console=tty1 console=ttyS1 ") +
            $"vlan_id={Vlan} hw_addr={Mac} syslog_host=192.0.2.10 grpc_authority=192.0.2.10:42113 tinkerbell_tls=true worker_id={Mac} " +
            $"ipam={Mac.Replace(':', '-')}:{Vlan}:{Ip}:{Netmask}:{Gateway}:{Hostname}:{Dns}:{Search}:{Ntp}";

        public string Yaml() => $"""
            ---
            apiVersion: tinkerbell.org/v1alpha1
            kind: Hardware
            metadata:
              name: {Hostname}
            spec:
              metadata:
                facility:
                  facility_code: "{Facility}"
              interfaces:
                - dhcp:
                    mac: "{Mac}"
                    hostname: {Hostname}
                    vlan_id: "{Vlan}"
                    ip:
                      address: {Ip}
                      netmask: {Netmask}
                      gateway: {Gateway}
                    name_servers: [{Dns}]
                    time_servers: [{Ntp}]
                    domain_name: "{Search}"

            """;
    }

    private sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("isocluster-boot-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
