using System.Net;
using System.Net.Http.Headers;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Observability;

/// <summary>
/// <c>/metrics</c> on a real embedded gateway: the BMC listener (<c>--urls</c>) and the admin listener
/// (<c>--admin-urls</c>) each serve only their own paths, and a scrape in Prometheus text counts exactly the reads made.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class GatewayMetricsTests : IAsyncLifetime
{
    private const int ReadSize = 64 * 1024;
    private const string IsoName = "hook.iso";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-metrics-");
    private UpstreamServer _upstream = null!;
    private string _hardwareFile = "";

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        var iso = new byte[3 * 1024 * 1024];
        new Random(21).NextBytes(iso);
        _upstream.SetFile(IsoName, iso);

        // Machine 1's own source answers 500: its boot fails at the upstream, which the metrics must show by host.
        _hardwareFile = Path.Combine(_directory.FullName, "hardware.yaml");
        await File.WriteAllTextAsync(_hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: _upstream.Url(IsoName, "status/500")));
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Metrics_AfterIsoReads_CountRequestsBytesCacheReadsAndUpstreamByHost()
    {
        await using var gateway = await StartGatewayAsync();
        var iso = GatewayInstance.IsoPath(TestMachines.Mac2);

        // Three 64 KiB reads in the first half of chunk 0 (no read-ahead): one miss in each cache, then gateway hits.
        for (var i = 0; i < 3; i++)
        {
            using var response = await gateway.Client.SendAsync(RangeRequest(iso, i * ReadSize, ReadSize));
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        }

        using (var unknown = await gateway.Client.GetAsync(new Uri(GatewayInstance.IsoPath(TestMachines.UnknownMac), UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using (var failing = await gateway.Client.SendAsync(RangeRequest(GatewayInstance.IsoPath(TestMachines.Mac1), 0, ReadSize)))
        {
            Assert.Equal(HttpStatusCode.BadGateway, failing.StatusCode);
        }

        var metrics = await ScrapeAsync(gateway);

        var host = ("server_address", _upstream.BaseAddress.Host);
        Assert.True(metrics.Sum("isocluster_gateway_requests_total", ("http_response_status_code", "206")) == 3, metrics.Text);
        Assert.True(metrics.Sum("isocluster_gateway_requests_total", ("http_response_status_code", "404")) == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_gateway_requests_total", ("http_response_status_code", "502")) == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_gateway_served_bytes_total") == 3 * ReadSize, metrics.Text);
        Assert.True(metrics.Sum("isocluster_gateway_cache_reads_total", ("isocluster_cache_result", "miss")) == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_gateway_cache_reads_total", ("isocluster_cache_result", "hit")) == 2, metrics.Text);
        Assert.True(metrics.Sum("isocluster_gateway_cache_chunks") == 1, metrics.Text);

        // The embedded silo: one chunk fetched once, read once (the gateway's cache answered the rest).
        Assert.True(metrics.Sum("isocluster_cache_reads_total", ("isocluster_cache_result", "miss")) == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_cache_chunks") == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_cache_bytes") >= 1024 * 1024, metrics.Text);
        Assert.True(metrics.Sum("isocluster_upstream_requests_total", host, ("isocluster_upstream_operation", "chunk_read"), ("isocluster_upstream_status", "ok")) == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_upstream_bytes_total", host) >= 1024 * 1024, metrics.Text);
        Assert.True(metrics.Sum("isocluster_upstream_duration_seconds_count", host, ("isocluster_upstream_operation", "chunk_read")) == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_upstream_errors_total", host, ("isocluster_upstream_operation", "probe"), ("error_type", "bad_response")) >= 1, metrics.Text);

        // Orleans', Kestrel's and the runtime's own meters are exported beside IsoCluster's; ASP.NET Core's per-request
        // meter is not (it allocates on every request).
        Assert.Contains(metrics.Samples, sample => sample.Name.StartsWith("orleans_", StringComparison.Ordinal));
        Assert.True(metrics.Has("kestrel_active_connections"), metrics.Text);
        Assert.Contains(metrics.Samples, sample => sample.Name.StartsWith("dotnet_gc_", StringComparison.Ordinal));
        Assert.DoesNotContain(metrics.Samples, sample => sample.Name.StartsWith("http_server_request_duration", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Listeners_EachServesOnlyItsOwnPaths_HealthOnBoth()
    {
        await using var gateway = await StartGatewayAsync();
        using var admin = new HttpClient { BaseAddress = gateway.AdminAddress };
        var iso = GatewayInstance.IsoPath(TestMachines.Mac2);

        using var metrics = await admin.GetAsync(new Uri("metrics", UriKind.Relative));
        using var metricsOnBmc = await gateway.Client.GetAsync(new Uri("metrics", UriKind.Relative));
        using var isoOnAdmin = await admin.SendAsync(RangeRequest(iso, 0, ReadSize));
        using var isoOnBmc = await gateway.Client.SendAsync(RangeRequest(iso, 0, ReadSize));

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal("text/plain", metrics.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, metricsOnBmc.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, isoOnAdmin.StatusCode);
        Assert.Contains("--admin-urls", await isoOnAdmin.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.PartialContent, isoOnBmc.StatusCode);
        foreach (var client in new[] { admin, gateway.Client })
        {
            foreach (var path in new[] { "health/live", "health/ready", "health/startup" })
            {
                using var health = await client.GetAsync(new Uri(path, UriKind.Relative));
                Assert.True(health.StatusCode == HttpStatusCode.OK, $"{client.BaseAddress}{path}: {(int)health.StatusCode}");
            }
        }

        // The ISO read above is counted; the 404s for the wrong listener never reached the ISO endpoint.
        var scrape = await ScrapeAsync(gateway);
        Assert.True(scrape.Sum("isocluster_gateway_requests_total") == 1, scrape.Text);
    }

    [Fact]
    public async Task AdminUrls_Empty_NoAdminListenerAndNoMetricsOnTheBmcListener()
    {
        await using var gateway = await GatewayInstance.StartAsync(["--admin-urls=", "--hardware-file", _hardwareFile, "--iso-upstream-url", _upstream.Url(IsoName)]);

        using var metricsOnBmc = await gateway.Client.GetAsync(new Uri("metrics", UriKind.Relative));
        using var live = await gateway.Client.GetAsync(new Uri("health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, metricsOnBmc.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    private static HttpRequestMessage RangeRequest(string path, long start, int length) =>
        new(HttpMethod.Get, new Uri(path, UriKind.Relative)) { Headers = { Range = new RangeHeaderValue(start, start + length - 1) } };

    private static async Task<PrometheusText> ScrapeAsync(GatewayInstance gateway)
    {
        using var admin = new HttpClient { BaseAddress = gateway.AdminAddress };
        return PrometheusText.Parse(await admin.GetStringAsync(new Uri("metrics", UriKind.Relative)));
    }

    private Task<GatewayInstance> StartGatewayAsync() =>
        GatewayInstance.StartAsync(["--hardware-file", _hardwareFile, "--iso-upstream-url", _upstream.Url(IsoName), .. TestMachines.BootFlags]);
}
