using System.Net;
using System.Text;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IsoCluster.EndToEnd.Tests.Serving;

/// <summary>
/// The request size limits the README states, enforced by Kestrel before any gateway code runs: 414 for a long request
/// line, 431 for too many or too large header fields (RFC 6585 §5), and the gateway serves on afterwards.
/// </summary>
[Collection(BootIsoDefinition.Name)]
public sealed class RequestLimitsTests(BootIsoFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void Limits_AreTheStatedOnes()
    {
        // The README's "Limits" paragraph quotes these numbers.
        var limits = fixture.Gateway.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        Assert.Equal(8 * 1024, limits.MaxRequestLineSize);
        Assert.Equal(16 * 1024, limits.MaxRequestHeadersTotalSize);
        Assert.Equal(50, limits.MaxRequestHeaderCount);
        Assert.Equal(TimeSpan.FromSeconds(10), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(130), limits.KeepAliveTimeout);
    }

    [Theory]
    [InlineData(8 * 1024, 414)] // over MaxRequestLineSize
    [InlineData(64 * 1024, 414)]
    public async Task Get_RequestLineOverTheLimit_414FromKestrelAndGatewayServesOn(int pathLength, int expected)
    {
        var path = "/iso/" + TestMachines.Mac1 + "/" + new string('a', pathLength) + ".iso";

        var response = await SendRawAsync($"GET {path} HTTP/1.1\r\nHost: {Host}\r\n\r\n");

        Assert.Equal(expected, response.StatusCode);
        await AssertServesAsync();
    }

    [Fact]
    public async Task Get_QueryJustUnderTheLimit_ReachesTheGateway()
    {
        // A presigned ?sourceISO= URL fits: the request line limit is about the whole line, not the path.
        var query = "?sourceISO=" + new string('x', (8 * 1024) - 200);

        var response = await SendRawAsync($"GET /iso/{TestMachines.Mac1}/hook.iso{query} HTTP/1.1\r\nHost: {Host}\r\n\r\n");

        Assert.Equal(403, response.StatusCode);
    }

    [Fact]
    public async Task Get_HeadersOverTheTotalSize_431FromKestrelAndGatewayServesOn()
    {
        var big = new StringBuilder();
        for (var i = 0; i < 3; i++)
        {
            big.Append(FormattableString.Invariant($"X-Filler-{i}: {new string('y', 6 * 1024)}\r\n"));
        }

        var response = await SendRawAsync($"GET /iso/{TestMachines.Mac1}/hook.iso HTTP/1.1\r\nHost: {Host}\r\n{big}\r\n");

        Assert.Equal((int)HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        await AssertServesAsync();
    }

    [Fact]
    public async Task Get_MoreHeaderFieldsThanTheLimit_431FromKestrelAndGatewayServesOn()
    {
        var many = string.Concat(Enumerable.Range(0, 60).Select(i => FormattableString.Invariant($"X-Field-{i}: {i}\r\n")));

        var response = await SendRawAsync($"GET /iso/{TestMachines.Mac1}/hook.iso HTTP/1.1\r\nHost: {Host}\r\n{many}\r\n");

        Assert.Equal((int)HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        await AssertServesAsync();
    }

    [Fact]
    public async Task Get_HeaderFieldsAtTheLimit_Served()
    {
        // 48 fields and Host: under the limit of 50, as a BMC behind a chatty proxy might send.
        var many = string.Concat(Enumerable.Range(0, 48).Select(i => FormattableString.Invariant($"X-Field-{i}: {i}\r\n")));

        var response = await SendRawAsync($"HEAD /iso/{TestMachines.Mac1}/hook.iso HTTP/1.1\r\nHost: {Host}\r\n{many}\r\n", head: true);

        Assert.Equal(200, response.StatusCode);
    }

    private string Host => $"{fixture.Gateway.BaseAddress.Host}:{fixture.Gateway.BaseAddress.Port}";

    private async Task<RawHttpResponse> SendRawAsync(string request, bool head = false)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await using var connection = await RawHttpConnection.OpenAsync(fixture.Gateway.BaseAddress, timeout.Token);
        await connection.SendAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
        var response = await connection.ReadResponseAsync(head, timeout.Token);
        Assert.NotNull(response);
        Assert.Null(response.Problem);
        return response;
    }

    private async Task AssertServesAsync()
    {
        var problem = await IsoResponses.CheckRangeAsync(
            fixture.Gateway.Client,
            GatewayInstance.IsoPath(TestMachines.Mac1),
            RangeProbe.Closed(0, 4095, fixture.Image.Bytes.Length),
            fixture.Reference(TestMachines.Mac1));
        Assert.Null(problem);
    }
}
