using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using IsoCluster.EndToEnd.Tests.Cluster;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.AdminPage;

/// <summary>
/// <c>/api/cache</c> in the production shape: two silo processes and a client-mode gateway on Redis membership. The
/// chunks read spread over both silos; the report, asked of the gateway or of a silo, has each silo's share and their sum.
/// </summary>
[Collection(ProcessClusterDefinition.Name)]
[Trait("Category", "Cluster")]
[Trait("Category", "EndToEnd")]
public sealed class ClusterCacheReportTests : IAsyncLifetime
{
    private const string IsoName = "hook.iso";
    private const int ChunkSize = 1024 * 1024;
    private const int Chunks = 16;
    private const int ReadSize = 64 * 1024;

    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-cache-report-");
    private UpstreamServer _upstream = null!;
    private string _hardwareFile = "";

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        _upstream.SetFile(IsoName, IsoImageBuilder.Filler(Chunks * ChunkSize, seed: 41));
        _hardwareFile = Path.Combine(_directory.FullName, "hardware.yaml");
        await File.WriteAllTextAsync(_hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: _upstream.Url(IsoName)));
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task CacheApi_TwoSilosAndAClientGateway_ReportsEachSilosShareAndTheirSumPerSource()
    {
        await using var cluster = await ProcessCluster.StartAsync(
            new ProcessClusterSettings(
                Silos: 2,
                Gateways: 1,
                ["--hardware-file", _hardwareFile, "--iso-upstream-url", _upstream.Url(IsoName), "--chunk-size", "1MiB", "--cache-size", "32MiB", .. TestMachines.BootFlags],
                [],
                _directory.FullName),
            TimeSpan.FromSeconds(60));
        var gateway = cluster.Gateways[0];

        // The first 64 KiB of every chunk: each chunk is fetched once, and no read passes half a chunk, so the gateway
        // reads nothing ahead.
        for (var chunk = 0; chunk < Chunks; chunk++)
        {
            await ReadAsync(gateway, (long)chunk * ChunkSize);
        }

        var fromGateway = await ReportAsync(gateway.AdminAddress);
        var fromSilo = await ReportAsync(cluster.Silos[1].AdminAddress);

        foreach (var report in new[] { fromGateway, fromSilo })
        {
            var source = Assert.Single(report.Sources);
            Assert.Equal(Chunks, source.Chunks);
            Assert.Equal((long)Chunks * ChunkSize, source.CachedBytes);
            Assert.Equal(Chunks, source.Misses);
            Assert.Equal(2, report.Silos.Length);
            Assert.All(report.Silos, silo =>
            {
                Assert.Null(silo.Error);
                Assert.Equal(32L * 1024 * 1024, silo.BudgetBytes);
            });
            Assert.Equal(Chunks, report.Silos.Sum(s => s.Chunks));
            Assert.Equal(report.Silos.Select(s => s.Silo).Distinct().Count(), report.Silos.Length);
        }

        // Hash placement spreads the chunks (all 16 on one silo: one chance in 32,768), so both silos hold some: a report
        // that asked one silo twice would not show it.
        Assert.All(fromGateway.Silos, silo => Assert.True(silo.Chunks > 0, $"silo {silo.Silo} holds no chunk of {Chunks}"));
    }

    private static async Task ReadAsync(ClusterProcess gateway, long start)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.BaseAddress, GatewayInstance.IsoPath(TestMachines.Mac2)))
            {
                Headers = { Range = new RangeHeaderValue(start, start + ReadSize - 1) },
            };
            using var response = await Client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                return;
            }

            // A freshly started cluster on a busy 2-core runner may answer its very first read 503 or 504; a BMC retries.
            Assert.True(
                response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout && deadline.Elapsed < TimeSpan.FromSeconds(30),
                $"bytes={start}-: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(500);
        }
    }

    private static async Task<CacheReportBody> ReportAsync(Uri admin)
    {
        using var response = await Client.GetAsync(new Uri(admin, "api/cache"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{admin}api/cache: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<CacheReportBody>(Json) ?? throw new InvalidOperationException("empty report");
    }

    private sealed record CacheReportBody(DateTimeOffset GeneratedAt, SourceBody[] Sources, SiloBody[] Silos);

    private sealed record SourceBody(string SourceIso, string VersionId, long IsoLength, long CachedBytes, long Chunks, long Hits, long Misses);

    private sealed record SiloBody(string Silo, long CachedBytes, long Chunks, long BudgetBytes, string? Error);
}
