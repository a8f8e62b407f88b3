using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using IsoCluster.TestSupport;

namespace IsoCluster.Cli.Tests;

/// <summary>
/// <c>isocluster machines</c> and the machines line of <c>isocluster status</c> against a real embedded gateway whose
/// machines API (<c>GET /api/machines</c>) has seen one boot read part of the way and one that failed before any version
/// of its source ISO was read (so it has no version and an ISO length of 0).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed partial class MachinesCommandTests : IAsyncLifetime
{
    // The first 1 MiB of the 3.5 MiB ISO, in four 256 KiB reads.
    private const int PartWay = 1024 * 1024;

    // Gateways report reads about once a second and the boot registry is updated every few seconds; a loaded 2-core
    // runner may take several times as long.
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    private AdminTestBed _bed = null!;
    private GatewayInstance _gateway = null!;

    private string Server => _gateway.AdminAddress.ToString();

    public async Task InitializeAsync()
    {
        _bed = await AdminTestBed.StartAsync();

        // Long enough that the boot read part of the way is still booting, not finished, when the CLI looks.
        _gateway = await _bed.StartGatewayAsync(true, "--iso-boot-session-idle", "00:30:00");
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _bed.DisposeAsync();
    }

    [Fact]
    public async Task Machines_NoBootYet_SaysSo()
    {
        var machines = await CliRun.RunAsync(["machines", "--server", Server]);
        var status = await CliRun.RunAsync(["status", "--server", Server]);

        Assert.True(machines.ExitCode == 0, machines.ToString());
        Assert.Equal("no machines", machines.Output.TrimEnd());
        Assert.Equal("machines  none seen yet", status.Lines[^1]);
    }

    [Fact]
    public async Task Machines_OneBootPartWayAndOneFailedBeforeAnyVersion_RendersOneRowEach()
    {
        await BootAsync();
        var failed = await WaitForListingAsync();

        var result = await CliRun.RunAsync(["machines", "--server", Server]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = result.Lines.Select(Columns).ToArray();
        Assert.Equal(["MAC", "STATE", "READ", "SERVED", "REQUESTS", "RATE", "LAST READ", "SOURCE ISO", "LAST ERROR"], rows[0]);
        Assert.Equal(3, rows.Length);

        // Failures first, then boots still going: what an operator looks at first.
        var failedRow = rows[1];
        var booting = rows[2];
        Assert.Equal([AdminTestBed.DefaultSourceMac, "booting", "29% of 3.5 MiB", "1.0 MiB", "4"], booting[..5]);
        Assert.Matches(RateOrNone(), booting[5]);
        Assert.Matches(Ago(), booting[6]);
        Assert.Equal([_bed.Upstream.Url(AdminTestBed.DefaultSourceName), "-"], booting[7..]);

        // No version was read, so its ISO length is unknown (0) and what it read is shown in bytes, not a share.
        Assert.Equal([AdminTestBed.MissingSourceMac, "failed", "0 B", "0 B", "1", "-"], failedRow[..6]);
        Assert.Matches(Ago(), failedRow[6]);
        Assert.Equal(_bed.Upstream.Url(AdminTestBed.MissingSourceName), failedRow[7]);
        Assert.Equal(failed.GetProperty("lastError").GetString(), failedRow[8]);
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("versionId").ValueKind);
        Assert.Equal(0, failed.GetProperty("isoLength").GetInt64());
    }

    [Theory]
    [InlineData("--state failed", AdminTestBed.MissingSourceMac)]
    [InlineData("--state booting", AdminTestBed.DefaultSourceMac)]
    [InlineData("--mac 2C-30", AdminTestBed.MissingSourceMac)]
    public async Task Machines_StateOrMac_ListsOnlyThoseMachines(string filter, string listed)
    {
        await BootAsync();
        await WaitForListingAsync();

        var result = await CliRun.RunAsync(["machines", .. filter.Split(' '), "--server", Server]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, result.Lines.Length);
        Assert.Equal(listed, Columns(result.Lines[1])[0]);
    }

    [Fact]
    public async Task Machines_StateTheApiDoesNotKnow_Exit1WithTheServersReason()
    {
        var result = await CliRun.RunAsync(["machines", "--state", "stuck", "--server", Server]);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal("isocluster: 400 state must be booting, finished or failed, not 'stuck'", result.Error.TrimEnd());
    }

    [Fact]
    public async Task Status_AfterTwoBoots_CountsMachinesByState()
    {
        await BootAsync();
        await WaitForListingAsync();

        var result = await CliRun.RunAsync(["status", "--server", Server]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("machines  2: 1 booting, 0 finished, 1 failed", result.Lines[^1]);
    }

    private async Task BootAsync()
    {
        await _bed.ReadIsoAsync(_gateway, AdminTestBed.DefaultSourceMac, upTo: PartWay);
        using var failed = await _gateway.Client.GetAsync(new Uri(GatewayInstance.IsoPath(AdminTestBed.MissingSourceMac), UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
    }

    // Waits until the listing shows both boots as they stand, and returns the failed one.
    private async Task<JsonElement> WaitForListingAsync()
    {
        using var admin = AdminTestBed.AdminClient(_gateway, token: null);
        using var deadline = new CancellationTokenSource(Within);
        var seen = "";
        while (!deadline.IsCancellationRequested)
        {
            seen = await admin.GetStringAsync(new Uri("api/machines", UriKind.Relative));
            var machines = JsonDocument.Parse(seen).RootElement.GetProperty("machines").EnumerateArray().ToArray();
            var booting = machines.Where(m => m.GetProperty("mac").GetString() == AdminTestBed.DefaultSourceMac).ToArray();
            var failed = machines.Where(m => m.GetProperty("mac").GetString() == AdminTestBed.MissingSourceMac).ToArray();
            if (booting is [{ } b] && b.GetProperty("requests").GetInt64() == 4 && failed is [{ } f] && f.GetProperty("state").GetString() == "failed")
            {
                return f.Clone();
            }

            await Task.Delay(200);
        }

        Assert.Fail($"api/machines did not show both boots within {Within.TotalSeconds:0} s; last seen {seen}");
        return default;
    }

    // Table cells are separated by two or more spaces; no cell holds two spaces in a row.
    private static string[] Columns(string line) => TwoOrMoreSpaces().Split(line);

    [GeneratedRegex(" {2,}")]
    private static partial Regex TwoOrMoreSpaces();

    [GeneratedRegex(@"^(-|[0-9]+(\.[0-9])? (B|KiB|MiB|GiB)/s)$")]
    private static partial Regex RateOrNone();

    [GeneratedRegex("^(just now|[0-9]+[smh] ago)$")]
    private static partial Regex Ago();
}
