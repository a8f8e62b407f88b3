using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Admin;

/// <summary>
/// Prewarm and purge on a real embedded gateway with a real upstream that counts every request: a prewarm fetches each
/// chunk exactly as a boot would, so a boot afterwards reaches the upstream not at all; a purge drops the chunks, so the
/// next read fetches them again, and the bytes served stay right throughout.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class PrewarmPurgeTests : IAsyncLifetime
{
    private AdminTestBed _bed = null!;

    public async Task InitializeAsync() => _bed = await AdminTestBed.StartAsync();

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    [Theory]
    [InlineData(AdminTestBed.DefaultSourceMac, false)]
    [InlineData(AdminTestBed.DefaultSourceMac, true)]
    [InlineData(AdminTestBed.OwnSourceMac, true)]
    public async Task Prewarm_ThenBoot_UpstreamSeesNoRequest(string mac, bool nameTheSource)
    {
        // The default source when none is named; otherwise the URL as the Hardware (or --iso-upstream-url) has it.
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway);
        var name = AdminTestBed.SourceNameOf(mac);
        var iso = _bed.Isos[name];

        var progress = await AdminTestBed.PrewarmAsync(admin, nameTheSource ? _bed.Upstream.Url(name) : null);

        var chunks = (iso.Length + AdminTestBed.ChunkSize - 1) / AdminTestBed.ChunkSize;
        Assert.Equal("done", progress.GetProperty("state").GetString());
        Assert.Equal(_bed.Upstream.Url(name), progress.GetProperty("sourceIso").GetString());
        Assert.Equal(iso.Length, progress.GetProperty("isoLength").GetInt64());
        Assert.Equal(chunks, progress.GetProperty("chunksTotal").GetInt64());
        Assert.Equal(chunks, progress.GetProperty("chunksDone").GetInt64());
        Assert.Equal(iso.Length, progress.GetProperty("bytesDone").GetInt64());
        Assert.Equal(chunks, _bed.Upstream.Requests.Count(r => r.Path == $"/files/{name}" && IsChunkFetch(r)));

        _bed.Upstream.ClearRequests();
        var served = await _bed.ReadIsoAsync(gateway, mac);

        Assert.Empty(_bed.Upstream.Requests);
        var commandLine = await KernelCommandLineAsync(admin, mac);
        var expected = ReferencePatch.Apply(iso, AdminTestBed.Magic, commandLine);
        Assert.Equal(-1, ReferencePatch.FirstDifference(served, expected));
    }

    [Fact]
    public async Task Prewarm_ReportsProgressWhileRunning()
    {
        // The upstream holds the fetch of the last chunk until released, so the prewarm is seen part-way; the upstream
        // timeouts are long so that the held fetch waits for the release instead of being retried and failed.
        await using var gateway = await _bed.StartGatewayAsync(
            true, "--upstream-stall-timeout", "00:05:00", "--upstream-timeout", "00:05:00", "--upstream-retry-deadline", "00:01:00");
        using var admin = AdminTestBed.AdminClient(gateway);
        var length = _bed.Isos[AdminTestBed.DefaultSourceName].Length;
        var lastChunkStart = 3L * AdminTestBed.ChunkSize;
        _bed.Upstream.Hold($"bytes={lastChunkStart - AdminTestBed.Magic.Length + 1}-");
        try
        {
            using var started = await admin.PostAsJsonAsync("api/prewarm", new { });
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var first = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("running", first.GetProperty("state").GetString());
            Assert.Equal(0, first.GetProperty("chunksDone").GetInt64());
            var id = first.GetProperty("id").GetString();

            JsonElement partway;
            do
            {
                await Task.Delay(50);
                partway = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/prewarm/{id}", UriKind.Relative))).RootElement;
            }
            while (partway.GetProperty("chunksDone").GetInt64() < 3);

            Assert.Equal("running", partway.GetProperty("state").GetString());
            Assert.Equal(3L * AdminTestBed.ChunkSize, partway.GetProperty("bytesDone").GetInt64());
            _bed.Upstream.ReleaseHeld();

            var done = await AdminTestBed.PrewarmAsync(admin, null);
            Assert.Equal(length, done.GetProperty("bytesDone").GetInt64());
        }
        finally
        {
            _bed.Upstream.ReleaseHeld();
        }
    }

    [Theory]
    [InlineData("{upstream}files/other.iso", "matches no --iso-source-allow prefix")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "matches no --iso-source-allow prefix")]
    [InlineData("/etc/passwd", "is not an http or https URL")]
    [InlineData("not a url", "is not an absolute URL")]
    public async Task Prewarm_SourceOutsidePolicy_Returns400AndFetchesNothing(string sourceIso, string reason)
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway);
        _bed.Upstream.SetFile("other.iso", _bed.Isos[AdminTestBed.DefaultSourceName]);
        _bed.Upstream.ClearRequests();

        using var response = await admin.PostAsJsonAsync("api/prewarm", new { sourceIso = sourceIso.Replace("{upstream}", _bed.Upstream.BaseAddress.ToString(), StringComparison.Ordinal) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(_bed.Upstream.Requests);
    }

    [Fact]
    public async Task Prewarm_SourceInsideIsoSourceAllow_WarmsWhatAsourceIsoQueryReads()
    {
        var allowed = _bed.Upstream.Url("other.iso");
        _bed.Upstream.SetFile("other.iso", _bed.Isos[AdminTestBed.DefaultSourceName]);
        await using var gateway = await _bed.StartGatewayAsync(true, "--iso-source-allow", _bed.Upstream.Url(""), "--iso-source-allow-address", "127.0.0.1");
        using var admin = AdminTestBed.AdminClient(gateway);

        var progress = await AdminTestBed.PrewarmAsync(admin, allowed);
        _bed.Upstream.ClearRequests();
        using var read = await gateway.Client.GetAsync(GatewayInstance.IsoPath(AdminTestBed.DefaultSourceMac, sourceIso: allowed));

        Assert.Equal("done", progress.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(_bed.Isos[AdminTestBed.DefaultSourceName].Length, (await read.Content.ReadAsByteArrayAsync()).Length);
        Assert.Empty(_bed.Upstream.Requests);
    }

    [Fact]
    public async Task Purge_ThenRead_FetchesEveryChunkAgain_BytesStayRight()
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway);
        var mac = AdminTestBed.DefaultSourceMac;
        var iso = _bed.Isos[AdminTestBed.DefaultSourceName];
        var chunks = (iso.Length + AdminTestBed.ChunkSize - 1) / AdminTestBed.ChunkSize;
        var commandLine = await KernelCommandLineAsync(admin, mac);
        var expected = ReferencePatch.Apply(iso, AdminTestBed.Magic, commandLine);
        var first = await _bed.ReadIsoAsync(gateway, mac);
        Assert.Equal(-1, ReferencePatch.FirstDifference(first, expected));

        using var purge = await admin.PostAsJsonAsync("api/purge", new { sourceIso = _bed.Upstream.Url(AdminTestBed.DefaultSourceName) });
        var purged = JsonDocument.Parse(await purge.Content.ReadAsStringAsync()).RootElement;
        _bed.Upstream.ClearRequests();
        var served = await _bed.ReadIsoAsync(gateway, mac);

        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
        Assert.Equal(chunks, purged.GetProperty("chunksPurged").GetInt64());
        Assert.True(purged.GetProperty("bytesPurged").GetInt64() >= iso.Length, purged.ToString());
        Assert.Equal(chunks, purged.GetProperty("gatewayChunksPurged").GetInt64());
        Assert.Equal(chunks, _bed.Upstream.Requests.Count(IsChunkFetch));
        Assert.Equal(-1, ReferencePatch.FirstDifference(served, expected));

        // The cache report counts the chunks read again, and only those: the purge took the earlier ones out of its count.
        var report = JsonDocument.Parse(await admin.GetStringAsync(new Uri("api/cache", UriKind.Relative))).RootElement;
        var source = Assert.Single(report.GetProperty("sources").EnumerateArray());
        Assert.Equal(_bed.Upstream.Url(AdminTestBed.DefaultSourceName), source.GetProperty("sourceIso").GetString());
        Assert.Equal(chunks, source.GetProperty("chunks").GetInt64());
        Assert.Equal(chunks, Assert.Single(report.GetProperty("silos").EnumerateArray()).GetProperty("chunks").GetInt64());
    }

    [Fact]
    public async Task Purge_OtherSource_DropsNothingOfThisOne()
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway);
        await _bed.ReadIsoAsync(gateway, AdminTestBed.DefaultSourceMac);

        using var purge = await admin.PostAsJsonAsync("api/purge", new { sourceIso = _bed.Upstream.Url(AdminTestBed.OwnSourceName) });
        using var missing = await admin.PostAsJsonAsync("api/purge", new { });
        _bed.Upstream.ClearRequests();
        await _bed.ReadIsoAsync(gateway, AdminTestBed.DefaultSourceMac);

        Assert.Equal(0, JsonDocument.Parse(await purge.Content.ReadAsStringAsync()).RootElement.GetProperty("chunksPurged").GetInt64());
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Empty(_bed.Upstream.Requests);
    }

    [Theory]
    [InlineData("hook.iso", "sourceIso: 'hook.iso' is not an absolute URL or an absolute path")]
    [InlineData("ftp://127.0.0.1/hook.iso", "sourceIso: 'ftp://127.0.0.1/hook.iso' is not an http or https URL")]
    public async Task Purge_SourceNotAUrlOrAbsolutePath_Returns400AndDropsNothing(string sourceIso, string reason)
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway);
        await _bed.ReadIsoAsync(gateway, AdminTestBed.DefaultSourceMac);

        using var purge = await admin.PostAsJsonAsync("api/purge", new { sourceIso });
        _bed.Upstream.ClearRequests();
        await _bed.ReadIsoAsync(gateway, AdminTestBed.DefaultSourceMac);

        Assert.Equal(HttpStatusCode.BadRequest, purge.StatusCode);
        Assert.StartsWith(reason, JsonDocument.Parse(await purge.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(_bed.Upstream.Requests);
    }

    [Fact]
    public async Task PrewarmProgress_UnknownId_Returns404()
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway);

        using var unknown = await admin.GetAsync(new Uri($"api/prewarm/{Guid.NewGuid():N}", UriKind.Relative));
        using var malformed = await admin.GetAsync(new Uri("api/prewarm/..%2Fmetrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, malformed.StatusCode);
    }

    // The version probe reads one byte (bytes=0-0); every chunk fetch reads its chunk and the margins around it.
    private static bool IsChunkFetch(UpstreamRequest request) => request.Range is { } range && range != "bytes=0-0";

    private static async Task<string> KernelCommandLineAsync(HttpClient admin, string mac) =>
        JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/explain/{mac}", UriKind.Relative))).RootElement.GetProperty("kernelCommandLine").GetString()!;
}
