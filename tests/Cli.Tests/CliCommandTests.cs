using System.Text.Json;
using System.Text.RegularExpressions;
using IsoCluster.TestSupport;

namespace IsoCluster.Cli.Tests;

/// <summary>
/// Every <c>isocluster</c> command against a real embedded gateway (real Kestrel, real upstream), run through the
/// CLI's own command line: what it prints, and its exit code.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed partial class CliCommandTests : IAsyncLifetime
{
    private AdminTestBed _bed = null!;
    private GatewayInstance _gateway = null!;

    private string Server => _gateway.AdminAddress.ToString();

    public async Task InitializeAsync()
    {
        _bed = await AdminTestBed.StartAsync();
        _gateway = await _bed.StartGatewayAsync();
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _bed.DisposeAsync();
    }

    [Fact]
    public async Task Status_PrintsReadinessWithChecksAndWhatTheCacheHolds()
    {
        await _bed.ReadIsoAsync(_gateway, AdminTestBed.DefaultSourceMac);
        using var admin = AdminTestBed.AdminClient(_gateway, token: null);
        var version = Assert.Single(JsonDocument.Parse(await admin.GetStringAsync(new Uri("api/cache", UriKind.Relative))).RootElement.GetProperty("sources").EnumerateArray());
        var hits = version.GetProperty("hits").GetInt64();
        var misses = version.GetProperty("misses").GetInt64();

        var result = await CliRun.RunAsync(["status", "--server", Server]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Lines;
        Assert.Equal($"server    {Server}", lines[0]);
        Assert.Equal("ready     Healthy", lines[1]);
        Assert.StartsWith("          cluster: Healthy: silo ", lines[2], StringComparison.Ordinal);
        // Memory held: each chunk, the short last one too, takes a whole pooled buffer (a chunk and its margins).
        Assert.Equal("cache     4.0 MiB in 4 chunks, of 1.0 GiB over 1 silo", lines[3]);

        // Nothing read since the report above: the same hits and misses; each chunk was fetched from the upstream once.
        Assert.Equal(
            $"          {_bed.Upstream.Url(AdminTestBed.DefaultSourceName)} version {version.GetProperty("versionId").GetString()}: 3.5 MiB in 4 chunks (100% of 3.5 MiB); {hits} hits, {misses} misses",
            lines[4]);
        Assert.Equal(4, misses);
        Assert.StartsWith("machines  ", lines[5], StringComparison.Ordinal);
        Assert.Equal(6, lines.Length);
    }

    [Fact]
    public async Task Prewarm_NotATerminal_PrintsProgressLinesThenDone_AndTheBootNeedsNoUpstream()
    {
        var url = _bed.Upstream.Url(AdminTestBed.OwnSourceName);

        var result = await CliRun.RunAsync(["prewarm", url, "--server", Server, "--token-file", _bed.TokenFile]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches($"^prewarm [0-9a-f]{{32}}: {Regex.Escape(url)} \\(version [0-9a-f]{{16}}, 3.5 MiB, 4 chunks\\)$", result.Lines[0]);
        Assert.Equal("100% 4/4 chunks, 3.5 MiB", result.Lines[^2]);
        Assert.Equal($"done: {url} has 4 chunks (3.5 MiB) in the cache", result.Lines[^1]);
        Assert.DoesNotContain('\r', result.Output);
        Assert.Empty(result.Error);

        _bed.Upstream.ClearRequests();
        await _bed.ReadIsoAsync(_gateway, AdminTestBed.OwnSourceMac);
        Assert.Empty(_bed.Upstream.Requests);
    }

    [Fact]
    public async Task Prewarm_OnATerminal_RedrawsOneBarInPlace()
    {
        var result = await CliRun.RunAsync(["prewarm", "--server", Server, "--token-file", _bed.TokenFile], terminal: true);

        Assert.True(result.ExitCode == 0, result.ToString());
        var bar = result.Lines[1];
        Assert.StartsWith("\r[", bar, StringComparison.Ordinal);
        Assert.EndsWith("\r[##############################] 100% 4/4 chunks, 3.5 MiB", bar, StringComparison.Ordinal);
        Assert.StartsWith("done: ", result.Lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_PrintsWhatWasDropped()
    {
        await _bed.ReadIsoAsync(_gateway, AdminTestBed.DefaultSourceMac);
        var url = _bed.Upstream.Url(AdminTestBed.DefaultSourceName);

        var result = await CliRun.RunAsync(["purge", url, "--server", Server, "--token-file", _bed.TokenFile]);

        Assert.True(result.ExitCode == 0, result.ToString());
        // The bytes the silos' budgets got back: each chunk held a whole pooled buffer, the short last one too.
        Assert.Matches($"^purged {Regex.Escape(url)}: 4 chunks \\(4\\.0 MiB\\) from 1 silo\\(s\\), 4 from this gateway's cache$", Assert.Single(result.Lines));
    }

    [Fact]
    public async Task Explain_PrintsTheCommandLineAndWhereEachPartComesFrom()
    {
        using var admin = AdminTestBed.AdminClient(_gateway, token: null);
        var api = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/explain/{AdminTestBed.OwnSourceMac}", UriKind.Relative))).RootElement;
        var commandLine = api.GetProperty("kernelCommandLine").GetString()!;

        var result = await CliRun.RunAsync(["explain", AdminTestBed.OwnSourceMac, "--server", Server]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Lines;
        Assert.Equal($"mac          {AdminTestBed.OwnSourceMac}", lines[0]);
        Assert.Equal("hardware     tink-system/sm01", lines[1]);
        Assert.Equal($"source ISO   {_bed.Upstream.Url(AdminTestBed.OwnSourceName)} (from Hardware spec.interfaces[0].isoboot.sourceISO)", lines[2]);
        Assert.Equal($"command line {commandLine.Length} of 1024 bytes, padded with spaces:", lines[3]);
        Assert.Equal(commandLine, lines[4]);
        Assert.Equal(["PART", "FROM", "SETTING"], Columns(lines[5]));
        var rows = lines.Skip(6).Select(Columns).ToArray();
        Assert.Equal(commandLine, string.Join(' ', rows.Select(row => row[0])));
        Assert.Contains(["syslog_host=" + AdminTestBed.SyslogHost, "flag", "--syslog-host"], rows);
        Assert.Contains(["vlan_id=400", "hardware", "spec.interfaces[0].dhcp.vlan_id"], rows);
        Assert.Contains(["console=ttyS0", "default", "spec.metadata.facility.facility_code"], rows);
    }

    [Theory]
    [InlineData("explain " + AdminTestBed.UnknownMac, "isocluster: 404 no Hardware object in ")]
    [InlineData("explain not-a-mac", "isocluster: 400 'not-a-mac' is not a MAC address")]
    [InlineData("prewarm http://169.254.169.254/latest/hook.iso --token-file {token}", "isocluster: 400 sourceIso 'http://169.254.169.254/latest/hook.iso' is not allowed")]
    [InlineData("prewarm not-a-url --token-file {token}", "isocluster: 400 sourceIso: 'file://{cwd}/not-a-url' is not an http or https URL")]
    [InlineData("purge ftp://127.0.0.1/x.iso --token-file {token}", "isocluster: 400 sourceIso: 'ftp://127.0.0.1/x.iso' is not an http or https URL, a file:/// URL or a path")]
    [InlineData("prewarm", "isocluster: 401 this call changes something: send Authorization: Bearer")]
    [InlineData("purge http://127.0.0.1/x.iso --token-file {wrong}", "isocluster: 401 the bearer token is not the one in --admin-token-file")]
    [InlineData("prewarm --token-file /nonexistent/token", "isocluster: cannot read --token-file '/nonexistent/token'")]
    public async Task FailedCall_PrintsOneLineWithTheServersReason_Exit1(string command, string expected)
    {
        var wrong = Path.Combine(Path.GetTempPath(), $"isocluster-wrong-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(wrong, "wrong-token");
        try
        {
            var args = command.Replace("{token}", _bed.TokenFile, StringComparison.Ordinal).Replace("{wrong}", wrong, StringComparison.Ordinal).Split(' ');

            var result = await CliRun.RunAsync([.. args, "--server", Server]);

            Assert.True(result.ExitCode == 1, result.ToString());
            Assert.StartsWith(expected.Replace("{cwd}", Environment.CurrentDirectory, StringComparison.Ordinal), result.Error, StringComparison.Ordinal);
            Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            File.Delete(wrong);
        }
    }

    [Fact]
    public async Task Purge_RelativePath_MeansTheDirectoryTheCommandRunsIn()
    {
        var result = await CliRun.RunAsync(["purge", "some/hook.iso", "--server", Server, "--token-file", _bed.TokenFile]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith($"purged {Path.Combine(Environment.CurrentDirectory, "some", "hook.iso")}: 0 chunks", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerDown_PrintsCannotReach_Exit1()
    {
        var down = $"http://127.0.0.1:{FreePorts.Next()}/";

        var result = await CliRun.RunAsync(["status", "--server", down]);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"isocluster: cannot reach {down}: ", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("bogus")]
    [InlineData("purge")]
    [InlineData("explain a b")]
    [InlineData("status --server ftp://127.0.0.1/")]
    [InlineData("status --no-such-option")]
    public async Task UsageError_PrintsWhatIsWrong_Exit2(string command)
    {
        var result = await CliRun.RunAsync(command.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("isocluster: ", result.Error, StringComparison.Ordinal);
        Assert.EndsWith("Run 'isocluster --help' for the commands and options.", result.Error.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_NamesTheServerAndTheTokenFile()
    {
        var environment = new Dictionary<string, string>
        {
            [IsoClusterCli.ServerVariable] = Server.TrimEnd('/'),
            [IsoClusterCli.TokenFileVariable] = _bed.TokenFile,
        };

        var result = await CliRun.RunAsync(["purge", _bed.Upstream.Url(AdminTestBed.DefaultSourceName)], environment: environment);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("purged ", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Executable_RunsAsIsoclusterDll()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "isocluster.dll");
        var environment = new Dictionary<string, string> { [IsoClusterCli.ServerVariable] = Server };

        var explain = await ToolProcess.RunAsync("dotnet", [dll, "explain", AdminTestBed.DefaultSourceMac], TimeSpan.FromMinutes(1), CancellationToken.None, environment);
        var usage = await ToolProcess.RunAsync("dotnet", [dll, "no-such-command"], TimeSpan.FromMinutes(1), CancellationToken.None, environment);

        Assert.True(explain.ExitCode == 0, explain.StandardError);
        Assert.StartsWith($"mac          {AdminTestBed.DefaultSourceMac}\n", explain.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("isocluster: Unrecognized command or argument 'no-such-command'", usage.StandardError, StringComparison.Ordinal);
    }

    // Table cells are separated by two or more spaces; no cell holds two spaces in a row.
    private static string[] Columns(string line) => TwoOrMoreSpaces().Split(line);

    [GeneratedRegex(" {2,}")]
    private static partial Regex TwoOrMoreSpaces();
}
