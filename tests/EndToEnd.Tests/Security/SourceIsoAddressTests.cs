using System.Globalization;
using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.Gateway.Hosting;
using IsoCluster.Grains.Hosting;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging;

namespace IsoCluster.EndToEnd.Tests.Security;

/// <summary>
/// DESIGN invariant 6 after DNS resolution: an allowlisted <c>?sourceISO=</c> host name that resolves to a loopback (or
/// other non-public) address is refused with 403 unless that address is allowlisted too, on the first hop and on every
/// redirect hop. <c>localhost</c> stands for a name an attacker rebinds to 127.0.0.1; the real upstream listens there.
/// </summary>
[Collection(BootIsoDefinition.Name)]
public sealed class SourceIsoAddressTests(BootIsoFixture fixture)
{
    private string Port => fixture.Upstream.BaseAddress.Port.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Get_AllowlistedNameResolvingToLoopback_Returns403AndUpstreamSeesNoRequest()
    {
        var name = $"rebound-{Guid.NewGuid():N}.iso";
        fixture.Upstream.SetFile(name, fixture.Image.Bytes);
        await using var gateway = await fixture.StartGatewayAsync(BootIsoFixture.IsoName, "--iso-source-allow", LocalhostUrl("files/"));
        var url = LocalhostUrl($"files/{name}");
        fixture.Upstream.ClearRequests();

        using var get = await gateway.Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: url));
        using var head = await IsoResponses.SendAsync(gateway.Client, HttpMethod.Head, GatewayInstance.IsoPath(TestMachines.Mac2, sourceIso: url));

        var reason = await IsoResponses.AssertOneLineErrorAsync(get, HttpStatusCode.Forbidden, "'localhost'", "a loopback address", "--iso-source-allow-address");
        Assert.DoesNotContain("127.0.0.1", reason, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        Assert.DoesNotContain(fixture.Upstream.Requests, r => r.Path.Contains(name, StringComparison.Ordinal));
        Assert.True(
            gateway.Log.Lines.Any(line => line.Level == LogLevel.Warning && line.Message.Contains(url, StringComparison.Ordinal) && line.Message.Contains("127.0.0.1", StringComparison.Ordinal)),
            $"No Warning naming {url} and 127.0.0.1:{Environment.NewLine}{gateway.Log.Describe()}");
    }

    [Fact]
    public async Task Get_AllowlistedNameWhoseLoopbackAddressIsAllowlisted_ServesReferenceBytes()
    {
        await using var gateway = await fixture.StartGatewayAsync(
            BootIsoFixture.IsoName,
            "--iso-source-allow", LocalhostUrl("files/"),
            "--iso-source-allow-address", "127.0.0.1");
        var url = LocalhostUrl($"files/{BootIsoFixture.IsoName}");

        using var response = await gateway.Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: url));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(TestMachines.Mac1)));
    }

    [Fact]
    public async Task Get_RedirectHopToNameResolvingToLoopback_Returns403AndTargetNeverFetched()
    {
        // The first hop's host is an address the operator wrote into the allowlist itself, so it may be connected to;
        // it redirects to an allowlisted name that resolves to loopback, which is checked again on its own connection.
        var name = $"bounce-{Guid.NewGuid():N}.iso";
        fixture.Upstream.SetFile(name, fixture.Image.Bytes);
        await using var gateway = await fixture.StartGatewayAsync(
            BootIsoFixture.IsoName,
            "--iso-source-allow", fixture.Upstream.Url("", "redirect-host"),
            "--iso-source-allow", LocalhostUrl("files/"));
        var url = fixture.Upstream.Url(name, "redirect-host/localhost");
        fixture.Upstream.ClearRequests();

        using var response = await gateway.Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: url));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.Forbidden, "'localhost'", "a loopback address");
        Assert.Contains(fixture.Upstream.Requests, r => r.Path == $"/redirect-host/localhost/{name}");
        Assert.DoesNotContain(fixture.Upstream.Requests, r => r.Path == $"/files/{name}");
    }

    [Theory]
    [InlineData("10.1.0.0/8")]
    [InlineData("localhost")]
    public async Task Start_InvalidAllowedAddress_FailsNamingTheFlag(string value)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => GatewayInstance.StartAsync(["--iso-source-allow-address", value]));

        var described = StartupErrors.Describe(error, GatewaySettings.All);
        Assert.NotNull(described);
        Assert.Contains("--iso-source-allow-address", described, StringComparison.Ordinal);
        Assert.Contains(value, described, StringComparison.Ordinal);
    }

    private string LocalhostUrl(string path) => $"http://localhost:{Port}/{path}";
}
