using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using IsoCluster.EndToEnd.Tests.Faults;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.EndToEnd.Tests.Observability;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging;

namespace IsoCluster.EndToEnd.Tests.Machines;

/// <summary>
/// Boot progress through real gateways: what a machine read shows in <c>GET /api/machines</c> (bytes, distinct bytes,
/// requests), across two gateways as a union, as finished once idle and as failed with the reason, with a log line and
/// a counter for each boot's start and end.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BootProgressTests : IAsyncLifetime
{
    private const int Block = 64 * 1024;
    private const string IsoName = "hook.iso";

    // The shortest idle time a boot gets (reports arrive about once a second): a short wait for "finished".
    private const string BootIdle = "00:00:05";

    // Reports go once a second, the registry gets progress every few seconds and a finish after the idle time; a loaded
    // 2-core runner may take several times as long.
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    private static readonly string[] ContractFields =
    [
        "mac", "state", "sourceIso", "versionId", "isoLength", "bytesServed", "distinctBytes", "requests", "firstRead",
        "lastRead", "bytesPerSecond", "lastError",
    ];

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-boots-");
    private readonly byte[] _iso = new byte[(3 * 1024 * 1024) + 1000];
    private UpstreamServer _upstream = null!;
    private string _hardwareFile = "";

    public async Task InitializeAsync()
    {
        new Random(31).NextBytes(_iso);
        _upstream = await UpstreamServer.StartAsync();
        _upstream.SetFile(IsoName, _iso);
        _hardwareFile = Path.Combine(_directory.FullName, "hardware.yaml");
        await File.WriteAllTextAsync(_hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: _upstream.Url(IsoName)));
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Machines_AfterPartOfIsoRead_ShowBytesDistinctBytesAndRequestsRead()
    {
        await using var gateway = await StartGatewayAsync();
        var mac = TestMachines.Mac2;

        // Blocks 0 and 1, block 0 again, then blocks 16 and 17 (the second chunk): 5 blocks served, 4 distinct.
        await ReadAsync(gateway.Client, mac, 0, Block);
        await ReadAsync(gateway.Client, mac, Block, Block);
        await ReadAsync(gateway.Client, mac, 0, Block);
        await ReadAsync(gateway.Client, mac, 16 * Block, 2 * Block);

        using var admin = new HttpClient { BaseAddress = gateway.AdminAddress };
        var machine = await WaitForMachineAsync(admin, mac, m => m.GetProperty("requests").GetInt64() == 4);

        Assert.Equal(ContractFields, machine.EnumerateObject().Select(p => p.Name));
        Assert.Equal(mac, machine.GetProperty("mac").GetString());
        Assert.Equal("booting", machine.GetProperty("state").GetString());
        Assert.Equal(_upstream.Url(IsoName), machine.GetProperty("sourceIso").GetString());
        Assert.False(string.IsNullOrEmpty(machine.GetProperty("versionId").GetString()));
        Assert.Equal(_iso.Length, machine.GetProperty("isoLength").GetInt64());
        Assert.Equal(5 * Block, machine.GetProperty("bytesServed").GetInt64());
        Assert.Equal(4 * Block, machine.GetProperty("distinctBytes").GetInt64());
        Assert.True(machine.GetProperty("firstRead").GetDateTimeOffset() <= machine.GetProperty("lastRead").GetDateTimeOffset());
        Assert.True(machine.GetProperty("bytesPerSecond").GetDouble() >= 0);
        Assert.Equal(JsonValueKind.Null, machine.GetProperty("lastError").ValueKind);

        // The listing (one registry call) catches up within its throttle, and filters by state and MAC.
        var listed = await WaitForListedAsync(admin, "?state=booting&mac=" + Uri.EscapeDataString(mac[..8].ToUpperInvariant()), mac, m => m.GetProperty("requests").GetInt64() == 4);
        Assert.Equal(5 * Block, listed.GetProperty("bytesServed").GetInt64());
        using (var finished = JsonDocument.Parse(await admin.GetStringAsync(new Uri("api/machines?state=finished", UriKind.Relative))))
        {
            Assert.True(finished.RootElement.GetProperty("generatedAt").TryGetDateTimeOffset(out _));
            Assert.Empty(finished.RootElement.GetProperty("machines").EnumerateArray());
        }

        var started = gateway.Log.Lines.Where(line => line.Message.StartsWith($"Boot of {mac} started", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(started);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains(_upstream.Url(IsoName), line.Message, StringComparison.Ordinal);
        Assert.Contains(machine.GetProperty("versionId").GetString()!, line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Machines_TwoGatewaysReadOneMac_ShowTheUnionOfDistinctBytes()
    {
        // One gateway with the cluster's silo, one joined to it as a client: two gateways in front of one cluster.
        var siloPort = FreePorts.Next();
        var orleansGatewayPort = FreePorts.Next();
        var clusterId = "boots-" + Guid.NewGuid().ToString("N")[..12];
        await using var first = await GatewayInstance.StartAsync(
            [
                .. GatewayArguments(),
                "--orleans-silo-port", siloPort.ToString(CultureInfo.InvariantCulture),
                "--orleans-gateway-port", orleansGatewayPort.ToString(CultureInfo.InvariantCulture),
                "--orleans-cluster-id", clusterId,
            ],
            embeddedSilo: false);
        await using var second = await GatewayInstance.StartAsync(
            [
                "--mode", "client",
                "--orleans-gateway-port", orleansGatewayPort.ToString(CultureInfo.InvariantCulture),
                "--orleans-cluster-id", clusterId,
            ],
            embeddedSilo: false);
        var mac = TestMachines.Mac1;

        // Blocks 0-1 through one, blocks 1-2 through the other: 4 blocks served, 3 distinct.
        await ReadAsync(first.Client, mac, 0, 2 * Block);
        await ReadAsync(second.Client, mac, Block, 2 * Block);

        using var admin = new HttpClient { BaseAddress = second.AdminAddress };
        var machine = await WaitForMachineAsync(admin, mac, m => m.GetProperty("requests").GetInt64() == 2);
        Assert.Equal(4 * Block, machine.GetProperty("bytesServed").GetInt64());
        Assert.Equal(3 * Block, machine.GetProperty("distinctBytes").GetInt64());
        Assert.Equal("booting", machine.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Machines_IdlePastBootSessionIdle_FinishedLoggedAndCounted()
    {
        await using var gateway = await StartGatewayAsync();
        var mac = TestMachines.Mac2;

        // The whole ISO, then nothing: every byte read, so the distinct bytes are the ISO's length.
        using (var whole = await gateway.Client.GetAsync(new Uri(GatewayInstance.IsoPath(mac), UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal(_iso.Length, (await whole.Content.ReadAsByteArrayAsync()).Length);
        }

        using var admin = new HttpClient { BaseAddress = gateway.AdminAddress };
        var machine = await WaitForListedAsync(admin, "?state=finished", mac, _ => true);

        Assert.Equal(_iso.Length, machine.GetProperty("bytesServed").GetInt64());
        Assert.Equal(_iso.Length, machine.GetProperty("distinctBytes").GetInt64());
        Assert.Equal(1, machine.GetProperty("requests").GetInt64());
        Assert.Equal(0, machine.GetProperty("bytesPerSecond").GetDouble());
        var finished = Assert.Single(gateway.Log.Lines, line => line.Message.StartsWith($"Boot of {mac} finished", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, finished.Level);
        Assert.Contains($"{_iso.Length} bytes in 1 requests", finished.Message, StringComparison.Ordinal);

        var metrics = await ScrapeAsync(gateway);
        Assert.True(metrics.Sum("isocluster_boots_started_total") == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_boots_finished_total") == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_boots_failed_total") == 0, metrics.Text);
        Assert.True(metrics.Sum("isocluster_boots_in_progress") == 0, metrics.Text);
    }

    [Fact]
    public async Task Machines_UpstreamGoneMidBoot_FailedWithReasonLoggedAndCounted()
    {
        await using var gateway = await StartGatewayAsync();
        var mac = TestMachines.Mac2;
        await ReadAsync(gateway.Client, mac, 0, Block);
        using var admin = new HttpClient { BaseAddress = gateway.AdminAddress };
        await WaitForMachineAsync(admin, mac, m => m.GetProperty("requests").GetInt64() == 1);
        var booting = await ScrapeAsync(gateway);
        Assert.True(booting.Sum("isocluster_boots_in_progress") == 1, booting.Text);

        // The upstream goes away; the next chunk cannot be fetched.
        await _upstream.DisposeAsync();
        using (var failed = await gateway.Client.SendAsync(RangeRequest(GatewayInstance.IsoPath(mac), 2 * 1024 * 1024, Block)))
        {
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        var machine = await WaitForMachineAsync(admin, mac, m => m.GetProperty("state").GetString() == "failed");
        Assert.Equal(2, machine.GetProperty("requests").GetInt64());
        Assert.Equal(Block, machine.GetProperty("bytesServed").GetInt64());
        Assert.StartsWith("502 upstream:", machine.GetProperty("lastError").GetString(), StringComparison.Ordinal);

        // Nothing more is read: after the idle time the boot ends as failed, once, with the status and the reason.
        Assert.True(
            await Eventually.HoldsAsync(() => gateway.Log.Lines.Any(line => line.Message.StartsWith($"Boot of {mac} failed", StringComparison.Ordinal)), Within),
            gateway.Log.Describe(LogLevel.Information));
        var line = Assert.Single(gateway.Log.Lines, line => line.Message.StartsWith($"Boot of {mac} failed", StringComparison.Ordinal));
        Assert.Contains("502 upstream:", line.Message, StringComparison.Ordinal);
        var listed = await WaitForListedAsync(admin, "?state=failed", mac, _ => true);
        Assert.Equal(machine.GetProperty("lastError").GetString(), listed.GetProperty("lastError").GetString());
        var metrics = await ScrapeAsync(gateway);
        Assert.True(metrics.Sum("isocluster_boots_failed_total") == 1, metrics.Text);
        Assert.True(metrics.Sum("isocluster_boots_finished_total") == 0, metrics.Text);
        Assert.True(metrics.Sum("isocluster_boots_in_progress") == 0, metrics.Text);
    }

    [Fact]
    public async Task Machine_BadMacOrUnknownMacOrBadState_400Or404WithReason()
    {
        await using var gateway = await StartGatewayAsync();
        using var admin = new HttpClient { BaseAddress = gateway.AdminAddress };

        using var bad = await admin.GetAsync(new Uri("api/machines/not-a-mac", UriKind.Relative));
        using var unknown = await admin.GetAsync(new Uri("api/machines/" + TestMachines.UnknownMac, UriKind.Relative));
        using var unread = await admin.GetAsync(new Uri("api/machines/" + TestMachines.Mac1.ToUpperInvariant().Replace(':', '-'), UriKind.Relative));
        using var badState = await admin.GetAsync(new Uri("api/machines?state=lost", UriKind.Relative));
        using var onBmcListener = await gateway.Client.GetAsync(new Uri("api/machines", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("'not-a-mac' is not a MAC address", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains(TestMachines.UnknownMac, await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unread.StatusCode);
        Assert.Contains(TestMachines.Mac1, await unread.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badState.StatusCode);
        Assert.Contains("booting, finished or failed", await badState.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, onBmcListener.StatusCode);

        // A MAC no Hardware has is never put on record: once a known machine read alongside it is listed, it is the
        // only one.
        using (var iso = await gateway.Client.GetAsync(new Uri(GatewayInstance.IsoPath(TestMachines.UnknownMac), UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, iso.StatusCode);
        }

        await ReadAsync(gateway.Client, TestMachines.Mac2, 0, Block);
        await WaitForListedAsync(admin, "", TestMachines.Mac2, _ => true);
        using var listing = JsonDocument.Parse(await admin.GetStringAsync(new Uri("api/machines", UriKind.Relative)));
        var listed = Assert.Single(listing.RootElement.GetProperty("machines").EnumerateArray());
        Assert.Equal(TestMachines.Mac2, listed.GetProperty("mac").GetString());
        using var unknownAfter = await admin.GetAsync(new Uri("api/machines/" + TestMachines.UnknownMac, UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknownAfter.StatusCode);
    }

    private static HttpRequestMessage RangeRequest(string path, long start, int length) =>
        new(HttpMethod.Get, new Uri(path, UriKind.Relative)) { Headers = { Range = new RangeHeaderValue(start, start + length - 1) } };

    private static async Task ReadAsync(HttpClient client, string mac, long start, int length)
    {
        using var response = await client.SendAsync(RangeRequest(GatewayInstance.IsoPath(mac), start, length));
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(length, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    private static async Task<JsonElement> WaitForMachineAsync(HttpClient admin, string mac, Func<JsonElement, bool> condition)
    {
        JsonElement last = default;
        var seen = "";
        var held = await Eventually.HoldsAsync(
            async () =>
            {
                using var response = await admin.GetAsync(new Uri("api/machines/" + mac, UriKind.Relative));
                var body = await response.Content.ReadAsStringAsync();
                seen = $"{(int)response.StatusCode} {body}";
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return false;
                }

                Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
                using var document = JsonDocument.Parse(body);
                last = document.RootElement.Clone();
                return condition(last);
            },
            Within);
        Assert.True(held, $"{mac}: last seen {seen}");
        return last;
    }

    private static async Task<JsonElement> WaitForListedAsync(HttpClient admin, string query, string mac, Func<JsonElement, bool> condition)
    {
        JsonElement last = default;
        var seen = "";
        var held = await Eventually.HoldsAsync(
            async () =>
            {
                seen = await admin.GetStringAsync(new Uri("api/machines" + query, UriKind.Relative));
                using var listing = JsonDocument.Parse(seen);
                foreach (var machine in listing.RootElement.GetProperty("machines").EnumerateArray())
                {
                    if (machine.GetProperty("mac").GetString() == mac && condition(machine))
                    {
                        last = machine.Clone();
                        return true;
                    }
                }

                return false;
            },
            Within);
        Assert.True(held, $"{mac} in api/machines{query}: last seen {seen}");
        return last;
    }

    private static async Task<PrometheusText> ScrapeAsync(GatewayInstance gateway)
    {
        using var admin = new HttpClient { BaseAddress = gateway.AdminAddress };
        return PrometheusText.Parse(await admin.GetStringAsync(new Uri("metrics", UriKind.Relative)));
    }

    private string[] GatewayArguments() =>
    [
        "--hardware-file", _hardwareFile,
        "--iso-upstream-url", _upstream.Url(IsoName),
        "--chunk-size", "1MiB",
        "--iso-boot-session-idle", BootIdle,
        .. TestMachines.BootFlags,
    ];

    private Task<GatewayInstance> StartGatewayAsync() => GatewayInstance.StartAsync(GatewayArguments());
}
