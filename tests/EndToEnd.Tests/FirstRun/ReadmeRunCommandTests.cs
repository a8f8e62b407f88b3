using System.Net;
using System.Net.Http.Headers;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.Grains.SourceIso;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.FirstRun;

/// <summary>
/// A new user's first run: the README's run command, typed from the repository root with its relative paths, builds
/// the demo ISO, starts the gateway with `dotnet run` and serves that ISO patched for the example machines.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ReadmeRunCommandTests
{
    private const string Heading = "## The two commands";

    // examples/hardware.yaml's sm02 with the README's flags, written out by hand: its facility names its own console.
    private const string Sm02Mac = "b4:96:91:6e:2c:20";
    private const string Sm02KernelParams =
        "facility=lab1 console=ttyS1,115200n8 hw_addr=b4:96:91:6e:2c:20 syslog_host=10.0.0.5 " +
        "grpc_authority=10.0.0.5:42113 tinkerbell_tls=false worker_id=b4:96:91:6e:2c:20";

    [Fact]
    public async Task RunCommand_TypedFromRepositoryRoot_ServesThePatchedDemoIso()
    {
        var command = RepositoryFiles.ReadmeCommand(Heading);
        var url = new Uri($"http://127.0.0.1:8080/iso/{Sm02Mac}/hook.iso");
        Assert.Contains("http://127.0.0.1:8080", command, StringComparison.Ordinal);

        // The command as written; only its admin listener moves off the default port, which another gateway of the test
        // run may hold.
        await using var run = ServiceProcess.Start(
            "README run command", "bash", ["-c", command], RepositoryFiles.Root, new Dictionary<string, string> { ["Gateway__AdminUrls"] = "http://127.0.0.1:0" });
        await run.WaitForHttpAsync(url, TimeSpan.FromMinutes(5));

        using var client = new HttpClient();
        var iso = await File.ReadAllBytesAsync(Path.Combine(RepositoryFiles.Root, "artifacts", "hook.iso"));
        var expected = ReferencePatch.Apply(iso, IsoOptions.HookOsMagicString, Sm02KernelParams);
        var body = await client.GetByteArrayAsync(url);
        Assert.True(ReferencePatch.FirstDifference(body, expected) == -1, $"the served ISO differs from the reference; output:\n{run.Output}");

        using var request = new HttpRequestMessage(HttpMethod.Get, url) { Headers = { Range = new RangeHeaderValue(0, 65535) } };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
    }
}
