using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Cli.Tests;

/// <summary>
/// <c>isocluster</c> pointed at something that is not an admin listener, such as a proxy that answers with its own page:
/// a real Kestrel server answering HTML, which no gateway or silo does.
/// </summary>
public sealed class ProxyPageTests : IAsyncLifetime
{
    private WebApplication _server = null!;

    private string Server => _server.Urls.First();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _server = builder.Build();
        _server.MapGet("/api/machines", () => Results.Text("<html>a proxy's page</html>", "text/html"));
        await _server.StartAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Machines_AnswerIsNotJson_Exit1NamingThePath()
    {
        var result = await CliRun.RunAsync(["machines", "--server", Server]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"isocluster: {Server}/api/machines answered something other than the expected JSON", result.Error, StringComparison.Ordinal);
    }
}
