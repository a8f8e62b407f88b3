using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using IsoCluster.EndToEnd.Tests.Cluster;
using IsoCluster.EndToEnd.Tests.Faults;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Observability;

/// <summary>
/// Metrics, logs and traces of the production shape: a silo process and a client-mode gateway process on Redis
/// membership, reading from a real HTTP upstream. The silo's one HTTP listener is its admin listener.
/// </summary>
[Collection(ProcessClusterDefinition.Name)]
[Trait("Category", "Cluster")]
[Trait("Category", "EndToEnd")]
public sealed class ClusterObservabilityTests : IAsyncLifetime
{
    private const string IsoName = "hook.iso";
    private const int ReadSize = 64 * 1024;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    // Shared for the test run, as HttpClient is meant to be; every request names its absolute URL.
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-observability-");
    private UpstreamServer _upstream = null!;
    private string _hardwareFile = "";

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        var iso = new byte[3 * 1024 * 1024];
        new Random(31).NextBytes(iso);
        _upstream.SetFile(IsoName, iso);
        _hardwareFile = Path.Combine(_directory.FullName, "hardware.yaml");
        await File.WriteAllTextAsync(_hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: _upstream.Url(IsoName)));
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Metrics_SiloAndGatewayProcesses_ShowChunkCacheUpstreamAndRequests_LogsJsonWithoutALinePerRequest()
    {
        await using var cluster = await StartClusterAsync(["--log-format", "json"], ["--log-format", "json"], environment: null);
        var silo = cluster.Silos[0];
        var gateway = cluster.Gateways[0];
        await FirstReadAsync(gateway);

        // The boot's start is logged once the gateway's first report reaches the machine grain, about a second after the
        // read: counted before the reads below, which belong to the same boot and must add no line of their own.
        var started = $"Boot of {TestMachines.Mac2} started";
        Assert.True(
            await Eventually.HoldsAsync(() => cluster.All.Any(process => process.Process.Output.Contains(started, StringComparison.Ordinal)), TimeSpan.FromSeconds(60)),
            $"no '{started}' line");
        var linesBefore = InformationLines(cluster);

        // Two chunks: the second reached only through the gateway's read-ahead of its first half.
        for (var i = 1; i < 24; i++)
        {
            using var response = await Client.SendAsync(RangeRequest(gateway, TestMachines.Mac2, i * ReadSize));
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        }

        var siloMetrics = await ScrapeAsync(silo.AdminAddress);
        var gatewayMetrics = await ScrapeAsync(gateway.AdminAddress);
        using var metricsOnBmc = await Client.GetAsync(new Uri(gateway.BaseAddress, "metrics"));

        var host = ("server_address", _upstream.BaseAddress.Host);
        Assert.True(siloMetrics.Sum("isocluster_cache_reads_total", ("isocluster_cache_result", "miss")) == 2, siloMetrics.Text);
        Assert.True(siloMetrics.Sum("isocluster_cache_chunks") == 2, siloMetrics.Text);
        Assert.True(siloMetrics.Sum("isocluster_cache_bytes") >= 2 * 1024 * 1024, siloMetrics.Text);
        Assert.True(siloMetrics.Sum("isocluster_upstream_requests_total", host, ("isocluster_upstream_operation", "chunk_read"), ("isocluster_upstream_status", "ok")) == 2, siloMetrics.Text);
        Assert.True(siloMetrics.Sum("isocluster_upstream_requests_total", host, ("isocluster_upstream_operation", "probe"), ("isocluster_upstream_status", "ok")) == 1, siloMetrics.Text);
        Assert.True(siloMetrics.Sum("isocluster_upstream_duration_seconds_count", host) == 3, siloMetrics.Text);
        Assert.True(siloMetrics.Sum("isocluster_upstream_bytes_total", host) >= 2 * 1024 * 1024, siloMetrics.Text);
        Assert.True(siloMetrics.Sum("isocluster_upstream_errors_total") == 0, siloMetrics.Text);
        Assert.True(siloMetrics.Has("http_client_request_duration_seconds_count", host), siloMetrics.Text);
        Assert.Contains(siloMetrics.Samples, sample => sample.Name.StartsWith("orleans_", StringComparison.Ordinal));
        Assert.True(siloMetrics.Has("target_info", ("service_name", "isocluster-silo")), siloMetrics.Text);

        Assert.True(gatewayMetrics.Sum("isocluster_gateway_requests_total", ("http_response_status_code", "206")) == 24, gatewayMetrics.Text);
        Assert.True(gatewayMetrics.Sum("isocluster_gateway_served_bytes_total") == 24 * ReadSize, gatewayMetrics.Text);
        Assert.True(gatewayMetrics.Sum("isocluster_gateway_cache_reads_total", ("isocluster_cache_result", "miss")) == 2, gatewayMetrics.Text);
        Assert.True(gatewayMetrics.Sum("isocluster_gateway_cache_reads_total", ("isocluster_cache_result", "hit")) >= 15, gatewayMetrics.Text);
        Assert.True(gatewayMetrics.Has("target_info", ("service_name", "isocluster-gateway")), gatewayMetrics.Text);
        Assert.Equal(HttpStatusCode.NotFound, metricsOnBmc.StatusCode);

        // Every line either process wrote is one JSON object, and 23 reads added no Information line.
        foreach (var process in cluster.All)
        {
            foreach (var line in process.Process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                Assert.True(IsJsonLogLine(line), $"{process.Name}: not a JSON log line: {line}{Environment.NewLine}{process.Output}");
            }
        }

        Assert.Equal(linesBefore, InformationLines(cluster));
    }

    [Fact]
    public async Task Traces_OtlpEndpointSet_OneTraceFromTheGatewayRequestThroughGrainsToTheUpstreamFetch()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",

            // The batch processor's default 5 s delay would only make the test wait.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        };
        await using var cluster = await StartClusterAsync([], [], environment);

        await FirstReadAsync(cluster.Gateways[0]);

        // The read that fetched chunk 0 from the upstream is one trace: the gateway's server span, the grain calls, the
        // silo's upstream read and its HTTP request.
        var deadline = Stopwatch.StartNew();
        List<ReceivedSpan> trace = [];
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            var spans = receiver.Spans;
            var fetch = spans.FirstOrDefault(span => span.Service == "isocluster-silo" && span.Name == "upstream chunk read");
            trace = fetch is null ? [] : [.. spans.Where(span => span.TraceId == fetch.TraceId)];
            if (trace.Any(span => span.Service == "isocluster-gateway" && span.Kind == 2)
                && trace.Any(span => span.Service == "isocluster-silo" && span.Kind == 3 && span.Name.StartsWith("GET", StringComparison.Ordinal)))
            {
                break;
            }

            await Task.Delay(200);
        }

        var all = string.Join(Environment.NewLine, receiver.Spans);
        var request = trace.SingleOrDefault(span => span.Service == "isocluster-gateway" && span.Kind == 2);
        Assert.True(request is not null, $"no trace from a gateway request to an upstream fetch; spans received:{Environment.NewLine}{all}");
        Assert.Contains("/iso/", request.Attributes.GetValueOrDefault("url.path", ""), StringComparison.Ordinal);
        var spansOfTrace = string.Join(Environment.NewLine, trace);
        var upstreamRead = Assert.Single(trace, span => span.Name == "upstream chunk read");
        var http = Assert.Single(trace, span => span.ParentSpanId == upstreamRead.SpanId);
        Assert.Equal((3, "isocluster-silo"), (http.Kind, http.Service));
        Assert.StartsWith("GET", http.Name, StringComparison.Ordinal);
        Assert.Equal(_upstream.BaseAddress.Host, upstreamRead.Attributes["server.address"]);

        // The upstream read descends from the gateway's request through Orleans' grain-call spans on both sides.
        var ancestors = new List<ReceivedSpan>();
        for (var span = upstreamRead; span.ParentSpanId.Length > 0 && trace.FirstOrDefault(s => s.SpanId == span.ParentSpanId) is { } parent; span = parent)
        {
            ancestors.Add(parent);
        }

        Assert.True(ancestors.Count > 0 && ancestors[^1] == request, $"the upstream read does not descend from the request:{Environment.NewLine}{spansOfTrace}");
        Assert.Contains(ancestors, span => span.Service == "isocluster-gateway" && span.Scope == "Microsoft.Orleans.Application");
        Assert.Contains(ancestors, span => span.Service == "isocluster-silo" && span.Scope == "Microsoft.Orleans.Application");

        // Probes are not traced: a scrape every few seconds would bury the reads.
        Assert.DoesNotContain(receiver.Spans, span => span.Attributes.GetValueOrDefault("url.path", "").StartsWith("/health", StringComparison.Ordinal));
    }

    private static HttpRequestMessage RangeRequest(ClusterProcess gateway, string mac, long start) =>
        new(HttpMethod.Get, new Uri(gateway.BaseAddress, GatewayInstance.IsoPath(mac))) { Headers = { Range = new RangeHeaderValue(start, start + ReadSize - 1) } };

    private static bool IsJsonLogLine(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            return json.RootElement.TryGetProperty("LogLevel", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static int InformationLines(ProcessCluster cluster) =>
        cluster.All.Sum(process => process.Process.Output.Split('\n').Count(line => line.Contains("\"LogLevel\":\"Information\"", StringComparison.Ordinal)));

    private static async Task<PrometheusText> ScrapeAsync(Uri admin) =>
        PrometheusText.Parse(await Client.GetStringAsync(new Uri(admin, "metrics")));

    // A freshly started cluster on a busy 2-core runner may answer its very first read 503 or 504; a BMC retries.
    private static async Task FirstReadAsync(ClusterProcess gateway)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var response = await Client.SendAsync(RangeRequest(gateway, TestMachines.Mac2, 0));
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                return;
            }

            Assert.True(
                response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout && deadline.Elapsed < TimeSpan.FromSeconds(30),
                $"first read: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(500);
        }
    }

    private async Task<ProcessCluster> StartClusterAsync(string[] siloArguments, string[] gatewayArguments, IReadOnlyDictionary<string, string>? environment) =>
        await ProcessCluster.StartAsync(
            new ProcessClusterSettings(
                Silos: 1,
                Gateways: 1,
                ["--hardware-file", _hardwareFile, "--iso-upstream-url", _upstream.Url(IsoName), "--iso-revalidate-interval", "01:00:00", .. TestMachines.BootFlags, .. siloArguments],
                gatewayArguments,
                _directory.FullName,
                environment),
            StartTimeout);
}
