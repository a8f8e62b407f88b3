using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Cli.Tests;

/// <summary>
/// <c>isocluster machines</c> against a real Kestrel server that answers <c>GET /api/machines</c> with the JSON of the
/// machines API's contract. The server here stands in for that API until it is merged; an end-to-end test against a real
/// gateway belongs with it.
/// </summary>
public sealed partial class MachinesCommandTests : IAsyncLifetime
{
    private const string Contract = """
        {
          "generatedAt": "2026-12-03T10:00:00Z",
          "machines": [
            {
              "mac": "b4:96:91:6e:2c:10", "state": "booting", "sourceIso": "http://isos.example/hook.iso",
              "versionId": "2b6022004c158712", "isoLength": 4194304, "bytesServed": 3145728, "distinctBytes": 2097152,
              "requests": 48, "firstRead": "2026-12-03T09:59:30Z", "lastRead": "2026-12-03T09:59:58Z",
              "bytesPerSecond": 104857.6, "lastError": null
            },
            {
              "mac": "b4:96:91:6e:2c:20", "state": "failed", "sourceIso": "http://isos.example/other.iso",
              "versionId": null, "isoLength": null, "bytesServed": 0, "distinctBytes": 0, "requests": 1,
              "firstRead": "2026-12-03T09:00:00Z", "lastRead": "2026-12-03T09:00:00Z", "bytesPerSecond": null,
              "lastError": "502: upstream http://isos.example/other.iso answered 404"
            }
          ]
        }
        """;

    private readonly ConcurrentQueue<string> _queries = new();
    private WebApplication _server = null!;
    private string _body = Contract;

    private string Server => _server.Urls.First();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _server = builder.Build();
        _server.MapGet("/api/machines", (HttpRequest request) =>
        {
            _queries.Enqueue(request.QueryString.Value ?? "");
            return Results.Text(_body, "application/json");
        });
        await _server.StartAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Machines_RendersOneRowPerMachine()
    {
        var result = await CliRun.RunAsync(["machines", "--server", Server]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var rows = result.Lines.Select(line => TwoOrMoreSpaces().Split(line)).ToArray();
        Assert.Equal(["MAC", "STATE", "READ", "SERVED", "REQUESTS", "RATE", "LAST READ", "SOURCE ISO", "LAST ERROR"], rows[0]);
        Assert.Equal(["b4:96:91:6e:2c:10", "booting", "50% of 4.0 MiB", "3.0 MiB", "48", "102.4 KiB/s", "2s ago", "http://isos.example/hook.iso", "-"], rows[1]);
        Assert.Equal(["b4:96:91:6e:2c:20", "failed", "0 B", "0 B", "1", "-", "1h ago", "http://isos.example/other.iso", "502: upstream http://isos.example/other.iso answered 404"], rows[2]);
        Assert.Equal(3, rows.Length);
        Assert.Equal("", Assert.Single(_queries));
    }

    [Fact]
    public async Task Machines_StateAndMac_AreSentAsQueryParameters()
    {
        var result = await CliRun.RunAsync(["machines", "--state", "booting", "--mac", "b4:96:91:6e:2c:10", "--server", Server]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("?state=booting&mac=b4%3A96%3A91%3A6e%3A2c%3A10", Assert.Single(_queries));
    }

    [Fact]
    public async Task Machines_NoneYet_SaysSo()
    {
        _body = """{"generatedAt":"2026-12-03T10:00:00Z","machines":[]}""";

        var result = await CliRun.RunAsync(["machines", "--server", Server]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("no machines", result.Output.TrimEnd());
    }

    [Fact]
    public async Task Machines_NotJson_Exit1NamingThePath()
    {
        _body = "<html>a proxy's page</html>";

        var result = await CliRun.RunAsync(["machines", "--server", Server]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"isocluster: {Server}/api/machines answered something other than the expected JSON", result.Error, StringComparison.Ordinal);
    }

    [GeneratedRegex(" {2,}")]
    private static partial Regex TwoOrMoreSpaces();
}
