using System.Net;
using IsoCluster.TestSupport;
using IsoCluster.EndToEnd.Tests.Harness;
using Microsoft.Extensions.Logging;

namespace IsoCluster.EndToEnd.Tests.Serving;

/// <summary>
/// BMCs drop connections mid-body all the time (a mount is cancelled, a read times out): the issue and the house
/// style say that is a Debug line, never an error, and the gateway goes on serving.
/// </summary>
[Collection(BootIsoDefinition.Name)]
public sealed class ClientDisconnectTests(BootIsoFixture fixture)
{
    // Only a guard against a gateway that never notices; nothing asserts how fast it does.
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Get_ClientDisconnectsMidBody_LoggedAtDebugOnlyAndNextRequestServed()
    {
        const string mac = TestMachines.Mac2;
        var log = fixture.Gateway.Log;

        // Far larger than loopback socket buffers (a few MiB), so the gateway is still writing when the client
        // leaves; with the 6.5 MB fixture ISO the whole body could already sit in kernel buffers.
        fixture.Upstream.SetFile("large.iso", IsoImageBuilder.Filler(48 * 1024 * 1024, seed: 48));
        var largeIso = GatewayInstance.IsoPath(mac, sourceIso: fixture.Upstream.Url("large.iso"));
        var mark = log.Mark();

        using (var client = fixture.Gateway.CreateClient())
        using (var response = await client.GetAsync(largeIso, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var body = await response.Content.ReadAsStreamAsync();
            var start = new byte[64 * 1024];
            await body.ReadExactlyAsync(start);
        }

        var stopAt = DateTime.UtcNow + GiveUpAfter;
        while (!log.LinesSince(mark).Any(line => line.Level == LogLevel.Debug && line.Message.Contains(mac, StringComparison.Ordinal) && line.Message.Contains("disconnect", StringComparison.OrdinalIgnoreCase)))
        {
            Assert.True(DateTime.UtcNow < stopAt, $"No Debug line about the disconnect:{Environment.NewLine}{string.Join(Environment.NewLine, log.LinesSince(mark))}");
            await Task.Delay(50);
        }

        // IsoCluster's own lines only: Orleans may warn about unrelated things (a slow runner) at any time.
        Assert.DoesNotContain(log.LinesSince(mark), line => line.Level >= LogLevel.Warning && line.Category.StartsWith("IsoCluster", StringComparison.Ordinal));
        var problem = await IsoResponses.CheckRangeAsync(fixture.Gateway.Client, GatewayInstance.IsoPath(mac), RangeProbe.Closed(0, 65535, fixture.Image.Bytes.Length), fixture.Reference(mac));
        Assert.Null(problem);
    }
}
