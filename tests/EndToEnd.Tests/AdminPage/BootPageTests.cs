using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IsoCluster.EndToEnd.Tests.FirstRun;
using IsoCluster.Grains.SourceIso;
using PuppeteerSharp;

namespace IsoCluster.EndToEnd.Tests.AdminPage;

/// <summary>
/// The live boot page in a real browser (Debian's chromium, headless), against a real gateway whose machines have read
/// their ISO part of the way: each MAC shows with the progress it made, the failed machine comes first, the filters
/// work. A screenshot goes to artifacts/test-results/boot-page.png.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BootPageTests(BootPageFixture fixture) : IClassFixture<BootPageFixture>
{
    // The page polls every 2 s; the gateways report reads to the machine grains in the background. Both are waited for
    // by what they show, this is only the bound after which the test gives up.
    private static readonly TimeSpan LiveUpdate = TimeSpan.FromSeconds(45);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task BootPage_MachinesPartWayThroughTheirBoots_ShowsEachMacWithItsProgressFailuresFirstAndFilters()
    {
        await using var chromium = await HeadlessChromium.StartAsync();
        var page = await chromium.NewPageAsync();
        var scriptErrors = new List<string>();
        page.PageError += (_, e) => scriptErrors.Add(e.Message);
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error)
            {
                scriptErrors.Add(e.Message.Text);
            }
        };

        var response = await page.GoToAsync(new Uri(fixture.Gateway.AdminAddress, "boots").ToString());
        Assert.Equal(HttpStatusCode.OK, response.Status);

        // The live update: wait until every machine's row shows what the machine read (the first polls may come before
        // the gateway has reported the last reads).
        var expected = BootPageFixture.Macs.ToDictionary(mac => mac, BootPageFixture.DistinctBytes);
        await WaitForAsync(page, """
            expected => Object.entries(expected).every(([mac, bytes]) => {
                const row = document.querySelector(`#machines tbody tr[data-mac="${mac}"]`);
                return row && Number(row.dataset.distinctBytes) === bytes;
            })
            """, expected);
        await WaitForAsync(page, "() => document.querySelectorAll('#sources tbody tr').length > 0");

        var screenshot = Path.Combine(RepositoryFiles.Root, "artifacts", "test-results", "boot-page.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.ScreenshotAsync(screenshot, new ScreenshotOptions { FullPage = true });

        var rows = await RowsAsync(page);
        Assert.Equal(BootPageFixture.Macs.Order(), rows.Select(r => r.Mac).Order());
        Assert.Equal(BootPageFixture.FailingMac, rows[0].Mac);
        Assert.Equal("failed", rows[0].State);
        Assert.False(string.IsNullOrEmpty(rows[0].Error), "the failed machine's row shows its last error");
        foreach (var row in rows.Where(r => r.Mac != BootPageFixture.FailingMac))
        {
            var distinct = BootPageFixture.DistinctBytes(row.Mac);
            var percent = 100.0 * distinct / BootPageFixture.IsoLength;
            Assert.Equal("booting", row.State);
            Assert.Equal(distinct, row.DistinctBytes);
            Assert.Equal(BootPageFixture.IsoLength, row.IsoLength);
            Assert.Equal(percent.ToString("F2", CultureInfo.InvariantCulture) + "%", row.BarWidth);
            Assert.Equal(percent.ToString(percent < 10 ? "F1" : "F0", CultureInfo.InvariantCulture) + "\u00a0%", row.Percent);
            Assert.Equal(BootPageFixture.ReadsPerMac[row.Mac] + (row.Mac == BootPageFixture.ReadsPerMac.Keys.Last() ? 4 : 0), row.Requests);
        }

        // Filtering by MAC: typed with dashes and in capitals, as it may be copied from a BMC's label.
        var target = BootPageFixture.ReadsPerMac.Keys.ElementAt(1);
        await page.TypeAsync("#mac-filter", target[^5..].Replace(':', '-').ToUpperInvariant());
        Assert.Equal([target], (await RowsAsync(page)).Select(r => r.Mac));

        await page.EvaluateExpressionAsync("document.getElementById('mac-filter').value = ''");
        await page.SelectAsync("#state-filter", "failed");
        Assert.Equal([BootPageFixture.FailingMac], (await RowsAsync(page)).Select(r => r.Mac));

        Assert.Empty(scriptErrors);
    }

    [Fact]
    public async Task BootPage_CachePanel_ShowsTheSourceIsoFilledByTheChunksReadAndTheSilo()
    {
        await using var chromium = await HeadlessChromium.StartAsync();
        var page = await chromium.NewPageAsync();
        await page.GoToAsync(new Uri(fixture.Gateway.AdminAddress, "").ToString());
        await WaitForAsync(page, "() => document.querySelectorAll('#sources tbody tr').length > 0 && document.querySelectorAll('#silos tbody tr').length > 0");

        var source = await page.EvaluateFunctionAsync<JsonElement>("""
            () => [...document.querySelectorAll('#sources tbody tr')].map(tr => ({ ...tr.dataset, cells: [...tr.cells].map(td => td.textContent) }))
            """);
        var sources = source.EnumerateArray().ToArray();
        var cached = BootPageFixture.ChunksRead.Count * (long)BootPageFixture.ChunkSize;
        var only = Assert.Single(sources);
        Assert.Equal(IsoSource.ForDisplay(fixture.Upstream.Url(BootPageFixture.IsoName)), only.GetProperty("sourceIso").GetString());
        Assert.Equal(cached.ToString(CultureInfo.InvariantCulture), only.GetProperty("cachedBytes").GetString());
        var filled = 100.0 * cached / BootPageFixture.IsoLength;
        Assert.Contains(filled.ToString("F0", CultureInfo.InvariantCulture) + "\u00a0%", only.GetProperty("cells")[3].GetString(), StringComparison.Ordinal);

        var silos = await page.EvaluateFunctionAsync<int>("() => document.querySelectorAll('#silos tbody tr').length");
        Assert.Equal(1, silos);
    }

    [Fact]
    public async Task CacheApi_AfterPartialBoots_ReportsTheChunksReadPerSourceAndTheSilosBudget()
    {
        using var response = await fixture.Admin.GetAsync(new Uri("api/cache", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var report = await response.Content.ReadFromJsonAsync<CacheReportBody>(Json);

        Assert.NotNull(report);
        var source = Assert.Single(report.Sources);
        Assert.Equal(IsoSource.ForDisplay(fixture.Upstream.Url(BootPageFixture.IsoName)), source.SourceIso);
        Assert.Equal(BootPageFixture.IsoLength, source.IsoLength);
        Assert.Equal(BootPageFixture.ChunksRead.Count, source.Chunks);
        Assert.Equal(BootPageFixture.ChunksRead.Count * (long)BootPageFixture.ChunkSize, source.CachedBytes);

        // Each chunk was fetched once; the gateway's own cache answered the machines' later reads of it.
        Assert.Equal(BootPageFixture.ChunksRead.Count, source.Misses);

        var silo = Assert.Single(report.Silos);
        Assert.Null(silo.Error);
        Assert.Equal(64L * 1024 * 1024, silo.BudgetBytes);
        Assert.Equal(source.Chunks, silo.Chunks);
        Assert.True(silo.CachedBytes >= source.CachedBytes, $"{silo.CachedBytes} bytes held for {source.CachedBytes} bytes of chunks");
    }

    [Theory]
    [InlineData("")]
    [InlineData("boots")]
    [InlineData("api/cache")]
    [InlineData("api/machines")]
    public async Task BmcListener_PageAndApi_NotFoundThereButServedOnTheAdminListener(string path)
    {
        using var onBmc = await fixture.Gateway.Client.GetAsync(new Uri(path, UriKind.Relative));
        using var onAdmin = await fixture.Admin.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, onBmc.StatusCode);
        Assert.Equal(HttpStatusCode.OK, onAdmin.StatusCode);
        Assert.Equal(path.StartsWith("api/", StringComparison.Ordinal) ? "application/json" : "text/html", onAdmin.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task BootPage_Served_IsSelfContainedAndAllowsOnlyItsOwnScript()
    {
        using var response = await fixture.Admin.GetAsync(new Uri("boots", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();
        var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));

        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'sha256-", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task WaitForAsync(IPage page, string function, params object[] args)
    {
        try
        {
            await (await page.WaitForFunctionAsync(function, new WaitForFunctionOptions { Timeout = (int)LiveUpdate.TotalMilliseconds, PollingInterval = 100 }, args)).DisposeAsync();
        }
        catch (WaitTaskTimeoutException ex)
        {
            var status = await page.EvaluateExpressionAsync<string>("document.getElementById('status').textContent");
            var rows = string.Join("; ", (await RowsAsync(page)).Select(r => $"{r.Mac} {r.State} {r.DistinctBytes}/{r.IsoLength}"));
            throw new TimeoutException($"The page did not show {function} within {LiveUpdate.TotalSeconds} s; its status: '{status}', its rows: [{rows}]", ex);
        }
    }

    private static async Task<PageRow[]> RowsAsync(IPage page)
    {
        var json = await page.EvaluateFunctionAsync<string>("""
            () => JSON.stringify([...document.querySelectorAll('#machines tbody tr')].map(tr => ({
                mac: tr.dataset.mac,
                state: tr.dataset.state,
                distinctBytes: Number(tr.dataset.distinctBytes),
                isoLength: Number(tr.dataset.isoLength),
                barWidth: tr.querySelector('.fill').style.width,
                percent: tr.querySelector('.pct').textContent,
                requests: Number(tr.cells[5].textContent),
                error: tr.cells[7].textContent,
            })))
            """);
        return JsonSerializer.Deserialize<PageRow[]>(json, Json) ?? [];
    }

    private sealed record PageRow(string Mac, string State, long DistinctBytes, long IsoLength, string BarWidth, string Percent, long Requests, string Error);

    private sealed record CacheReportBody(DateTimeOffset GeneratedAt, SourceBody[] Sources, SiloBody[] Silos);

    private sealed record SourceBody(string SourceIso, string VersionId, long IsoLength, long CachedBytes, long Chunks, long Hits, long Misses);

    private sealed record SiloBody(string Silo, long CachedBytes, long Chunks, long BudgetBytes, string? Error);
}
