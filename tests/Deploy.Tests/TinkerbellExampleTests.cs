using System.Text.RegularExpressions;
using IsoCluster.Grains.Machines;
using k8s.Models;

namespace IsoCluster.Deploy.Tests;

/// <summary>
/// The Tinkerbell Workflow and Rufio Job examples in <c>deploy/examples</c> point BMCs at a URL the gateway Service
/// exposes and the gateway serves: a Service port, the <c>/iso/&lt;MAC&gt;/&lt;name&gt;.iso</c> route, a MAC the gateway
/// parses, the machine the Workflow names.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed partial class TinkerbellExampleTests
{
    [Theory]
    [InlineData("tinkerbell-workflow.yaml", "isoURL")]
    [InlineData("rufio-job.yaml", "mediaURL")]
    public async Task ExampleUrl_ReachesAGatewayRouteForTheMachine(string file, string field)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "deploy", "examples", file));
        var url = new Uri(Assert.Single(UrlField(field).Matches(text)).Groups["url"].Value);
        var service = (await RenderedDeployment.RenderAsync("lab")).Get<V1Service>("isocluster-gateway");

        Assert.Contains(url.Port, service.Spec.Ports.Where(p => p.Name == url.Scheme).Select(p => p.Port));
        var route = IsoRoute().Match(url.AbsolutePath);
        Assert.True(route.Success, $"{url.AbsolutePath} is not /iso/<MAC>/<name>.iso");
        Assert.True(MacAddress.TryParse(route.Groups["mac"].Value, out var mac, out var error), error);
        Assert.Equal(MacAddress.Parse("b4:96:91:6e:2c:10"), mac);
    }

    private static Regex UrlField(string field) => new($"{field}: \"(?<url>[^\"]+)\"", RegexOptions.CultureInvariant);

    [GeneratedRegex("^/iso/(?<mac>[^/]+)/[^/]+\\.iso$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoRoute();
}
