using System.Net;
using System.Text;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Hardware;

/// <summary>
/// A real gateway (embedded silo) with <c>--hardware-source kubernetes</c>, its Hardware in a loopback stand-in of the
/// API server's list/watch protocol, reached through KubernetesClient with a kubeconfig file: no kube-apiserver runs
/// on the build machines.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class KubernetesHardwareTests : IAsyncLifetime
{
    private const string Mac = "02:00:00:00:20:01";

    // Its first letter occurs nowhere else in it, so it cannot overlap itself; long enough for real parameters.
    private static readonly string Magic = "Q" + string.Concat(Enumerable.Repeat("isocluster-e2e-kubernetes-magic-", 13))[..399];

    private readonly string _directory = Directory.CreateTempSubdirectory("isocluster-e2e-k8s-").FullName;
    private FakeKubernetesApi _api = null!;
    private UpstreamServer _upstream = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _kubeconfig = _api.WriteKubeconfig(Path.Combine(_directory, "kubeconfig"));
        _upstream = await UpstreamServer.StartAsync();
        var image = IsoImageBuilder.Filler(256 * 1024, seed: 31);
        Encoding.ASCII.GetBytes(Magic).CopyTo(image, 100_000);
        _upstream.SetFile("hook.iso", image);
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _api.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Get_MacOnlyInTheApi_IsServedAndAfterDeletedKeepsTheBootInProgressThen404sTheNextBoot()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink-system", "sm01", Mac, facility: "k8s-only"));
        await using var gateway = await StartGatewayAsync();
        await WaitReadyAsync(gateway);

        string? etag;
        using (var served = await gateway.Client.GetAsync(GatewayInstance.IsoPath(Mac)))
        {
            var body = await served.Content.ReadAsByteArrayAsync();
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            var patched = Encoding.ASCII.GetString(body, 100_000, Magic.Length);
            Assert.StartsWith("facility=k8s-only ", patched, StringComparison.Ordinal);
            Assert.Contains($"worker_id={Mac}", patched, StringComparison.Ordinal);
            etag = served.Headers.ETag?.Tag;
        }

        _api.Delete("tink-system", "sm01");

        // A boot in progress (reading every 300 ms) goes on with the plan it started with after the silo saw the delete.
        var seen = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!gateway.Log.Lines.Any(l => l.EventId.Id == 1110 && l.Message.Contains("sm01", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < seen, "the silo did not see the DELETED event within 5 s");
            using var reading = await IsoResponsesGetRangeAsync(gateway, "bytes=0-65535");
            await Task.Delay(300);
        }

        using (var sameBoot = await IsoResponsesGetRangeAsync(gateway, "bytes=65536-131071"))
        {
            Assert.Equal(HttpStatusCode.PartialContent, sameBoot.StatusCode);
            Assert.Equal(etag, sameBoot.Headers.ETag?.Tag);
        }

        // The boot above ends once it has been idle for --iso-boot-session-idle (1 s), so each try waits longer than
        // that without reading: a read sooner would be the same boot, which keeps its plan.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        HttpStatusCode status;
        string reason;
        do
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            using var response = await gateway.Client.GetAsync(GatewayInstance.IsoPath(Mac));
            status = response.StatusCode;
            reason = await response.Content.ReadAsStringAsync();
        }
        while (status != HttpStatusCode.NotFound && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains(Mac, reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_BeforeTheFirstListSucceeds_Is503NamingTheSourceThen200()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink-system", "sm01", Mac));
        _api.FailLists(int.MaxValue);
        await using var gateway = await StartGatewayAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_api.Lists.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        using (var notReady = await gateway.Client.GetAsync(new Uri(gateway.AdminAddress, "/health/ready")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.Contains("--hardware-source kubernetes", await notReady.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var unavailable = await gateway.Client.GetAsync(GatewayInstance.IsoPath(Mac)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        }

        _api.FailLists(0);
        await WaitReadyAsync(gateway);
        using var ready = await gateway.Client.GetAsync(GatewayInstance.IsoPath(Mac));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Theory]
    [InlineData("--hardware-source", "etcd", "--hardware-source")]
    [InlineData("--hardware-namespace", "Not_A_Namespace", "--hardware-namespace")]
    public async Task Start_InvalidKubernetesSetting_FailsNamingTheFlag(string flag, string value, string named)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => GatewayInstance.StartAsync(
            ["--hardware-source", "kubernetes", "--kubeconfig", _kubeconfig, flag, value]));

        var described = IsoCluster.Grains.Hosting.StartupErrors.Describe(error, IsoCluster.Gateway.Hosting.GatewaySettings.All);
        Assert.NotNull(described);
        Assert.Contains(named, described, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> IsoResponsesGetRangeAsync(GatewayInstance gateway, string range) =>
        Harness.IsoResponses.GetRangeAsync(gateway.Client, GatewayInstance.IsoPath(Mac), range);

    private Task<GatewayInstance> StartGatewayAsync() => GatewayInstance.StartAsync(
    [
        "--hardware-source", "kubernetes",
        "--kubeconfig", _kubeconfig,
        "--iso-upstream-url", _upstream.Url("hook.iso"),
        "--iso-patch-magic-string", Magic,
        "--iso-boot-session-idle", "00:00:01",
    ]);

    private static async Task WaitReadyAsync(GatewayInstance gateway)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var ready = await gateway.Client.GetAsync(new Uri("/health/ready", UriKind.Relative));
            if (ready.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"not ready within 30 s: {await ready.Content.ReadAsStringAsync()}");
            await Task.Delay(100);
        }
    }
}
