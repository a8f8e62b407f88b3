using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Health;

/// <summary>
/// The probes an operator's load balancer and Kubernetes use, on an embedded gateway: ready only when the silo it
/// hosts can serve boots, live and started whenever it runs. (Separate silo and gateway processes on Redis membership
/// are covered by the cluster tests.)
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Ready_EmbeddedGatewayWithHardware_Returns200NamingTheSilo()
    {
        var hardware = Path.Combine(Directory.CreateTempSubdirectory("isocluster-health-").FullName, "hardware.yaml");
        await File.WriteAllTextAsync(hardware, TestMachines.HardwareYaml("http://127.0.0.1:9/hook.iso"));
        await using var gateway = await GatewayInstance.StartAsync(["--hardware-file", hardware]);

        foreach (var path in new[] { "/health/live", "/health/ready", "/health/startup" })
        {
            using var response = await gateway.Client.GetAsync(new Uri(path, UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
            Assert.StartsWith("Healthy", body, StringComparison.Ordinal);
        }

        using var ready = await gateway.Client.GetAsync(new Uri(gateway.AdminAddress, "/health/ready"));
        Assert.Contains("cluster: Healthy: silo ", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_NoHardwareSource_Returns503WithTheReasonWhileLiveStays200()
    {
        await using var gateway = await GatewayInstance.StartAsync(["--iso-upstream-url", "http://127.0.0.1:9/hook.iso"]);

        using var ready = await gateway.Client.GetAsync(new Uri(gateway.AdminAddress, "/health/ready"));
        using var readyForBmcs = await gateway.Client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        using var live = await gateway.Client.GetAsync(new Uri("/health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("--hardware-file", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The BMC listener answers a load balancer's probe with the status alone: the reasons are the operator's.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyForBmcs.StatusCode);
        Assert.Equal("Unhealthy\n", await readyForBmcs.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }
}
