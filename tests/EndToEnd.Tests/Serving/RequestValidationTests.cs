using System.Net;
using IsoCluster.TestSupport;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Serving;

/// <summary>
/// DESIGN invariant 7: bad input gets a clear 4xx with a one-line reason, never a 5xx. And every spelling of a MAC
/// a BMC or an operator may use names the same machine.
/// </summary>
[Collection(BootIsoDefinition.Name)]
public sealed class RequestValidationTests(BootIsoFixture fixture)
{
    private HttpClient Client => fixture.Gateway.Client;

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    [InlineData("OPTIONS")]
    public async Task Request_MethodOtherThanGetOrHead_Returns405WithAllow(string method)
    {
        // RFC 9110 §15.5.6: a 405 MUST carry Allow (§10.2.1) listing the methods the resource supports.
        using var response = await IsoResponses.SendAsync(Client, new HttpMethod(method), GatewayInstance.IsoPath(TestMachines.Mac1));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.MethodNotAllowed, method);
        Assert.Equal(["GET", "HEAD"], response.Content.Headers.Allow.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("get")]
    [InlineData("head")]
    [InlineData("Get")]
    public async Task Request_MethodInOtherCase_Returns405WithAllow(string method)
    {
        // RFC 9110 §9.1: methods are case-sensitive, so "head" is not HEAD and its response carries a body. The fuzz test
        // found "head" answered as HEAD (no body under a full Content-Length), which Kestrel turned into a 500.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var connection = await RawHttpConnection.OpenAsync(fixture.Gateway.BaseAddress, timeout.Token);
        var host = $"{fixture.Gateway.BaseAddress.Host}:{fixture.Gateway.BaseAddress.Port}";
        await connection.SendAsync(System.Text.Encoding.ASCII.GetBytes($"{method} /{GatewayInstance.IsoPath(TestMachines.Mac1)} HTTP/1.1\r\nHost: {host}\r\n\r\n"), timeout.Token);

        var response = await connection.ReadResponseAsync(head: false, timeout.Token);

        Assert.NotNull(response);
        Assert.Null(response.Problem);
        Assert.Equal(405, response.StatusCode);
        Assert.Equal("GET, HEAD", response.Header("Allow"));
        Assert.Contains(method, System.Text.Encoding.UTF8.GetString(response.Body), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-mac")]
    [InlineData("b4:96:91:6e:2c")]
    [InlineData("b4:96:91:6e:2c:10:00")]
    [InlineData("b4:96:91:6e:2c:1g")]
    [InlineData("b4:96-91:6e:2c:10")]
    [InlineData("b496.916e.2c1")]
    [InlineData("b4.96.91.6e.2c.10")]
    [InlineData("b496916e2c10")]
    public async Task Get_MalformedMac_Returns400NamingIt(string mac)
    {
        using var response = await Client.GetAsync(GatewayInstance.IsoPath(Uri.EscapeDataString(mac)));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.BadRequest, mac, "MAC");
    }

    [Theory]
    [InlineData(TestMachines.Mac1, "b4:96:91:6e:2c:10")]
    [InlineData(TestMachines.Mac1, "B4-96-91-6E-2C-10")]
    [InlineData(TestMachines.Mac1, "b496.916e.2c10")]
    [InlineData(TestMachines.Mac1, "B4:96:91:6e:2C:10")]
    [InlineData(TestMachines.Mac2, "b4-96-91-6e-2c-20")]
    [InlineData(TestMachines.Mac2, "B496.916E.2C20")]
    [InlineData(TestMachines.Mac2, "b4:96:91:6E:2c:20")]
    public async Task Get_MacInColonDashOrDottedFormAnyCase_ServesThatMachine(string mac, string spelling)
    {
        // One machine, one representation: same ETag and same patched bytes whatever the spelling.
        using var canonical = await IsoResponses.SendAsync(Client, HttpMethod.Head, GatewayInstance.IsoPath(mac));
        var occurrence = fixture.Image.Occurrences[1];
        var probe = RangeProbe.Closed(occurrence - 5, occurrence + fixture.Image.Magic.Length + 5, fixture.Image.Bytes.Length);

        using var head = await IsoResponses.SendAsync(Client, HttpMethod.Head, GatewayInstance.IsoPath(spelling));
        var problem = await IsoResponses.CheckRangeAsync(Client, GatewayInstance.IsoPath(spelling), probe, fixture.Reference(mac));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(canonical.Headers.ETag, head.Headers.ETag);
        Assert.Null(problem);
    }

    [Fact]
    public async Task Get_MacWithoutHardware_Returns404NamingMacAndNothingOfTheServer()
    {
        // The issue: the reason once quoted the Hardware file's path. The client learns only that the MAC has no
        // Hardware; the path is the log line's business.
        var mark = fixture.Gateway.Log.Mark();

        using var response = await Client.GetAsync(GatewayInstance.IsoPath(TestMachines.UnknownMac));

        var reason = await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.NotFound, "no Hardware for this MAC", TestMachines.UnknownMac);
        Assert.DoesNotContain(fixture.ScratchDirectory, reason, StringComparison.Ordinal);
        Assert.DoesNotContain(".yaml", reason, StringComparison.Ordinal);
        Assert.Contains(fixture.Gateway.Log.LinesSince(mark), line => line.Message.Contains(TestMachines.UnknownMac, StringComparison.Ordinal) && line.Message.Contains(fixture.ScratchDirectory, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("hook%0Aevil.img")]
    [InlineData("hook%0D%0AX-Injected:%20yes.img")]
    public async Task Get_NameWithLineBreaks_ReasonStaysOneLine(string name)
    {
        // A decoded path may hold CR or LF; the reason quotes it with them replaced, so it stays one line.
        using var response = await Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac1, name));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.NotFound, "not an ISO");
        Assert.False(response.Headers.Contains("X-Injected"));
    }

    [Theory]
    [InlineData("hook.img")]
    [InlineData("hook.iso.sig")]
    [InlineData("hook")]
    [InlineData("grub.cfg")]
    public async Task Get_NameNotEndingInIso_Returns404(string name)
    {
        using var response = await Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac1, name));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.NotFound, name);
    }
}
