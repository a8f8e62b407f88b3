using System.Diagnostics;
using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Serving;

/// <summary>
/// The issue: a bounded number of in-flight requests per gateway; past it an immediate 503 with Retry-After, never a
/// collapse or an unbounded queue, while the admitted requests finish with the right bytes and health stays reachable.
/// </summary>
[Collection(BootIsoDefinition.Name)]
public sealed class OverloadTests(BootIsoFixture fixture)
{
    private const int Limit = 4;
    private const int Excess = 24;

    // A 503 must come at once; this only allows for a loaded 2-core runner.
    private static readonly TimeSpan Immediate = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Get_MoreThanTheLimitInFlight_ExcessGets503WithRetryAfterAndAdmittedFinishWithRightBytes()
    {
        const string mac = TestMachines.Mac1;
        await using var gateway = await fixture.StartGatewayAsync(BootIsoFixture.IsoName, "--max-concurrent-requests", Limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var path = GatewayInstance.IsoPath(mac);
        var reference = fixture.Reference(mac);
        var probe = RangeProbe.Closed(2 * BootIsoImage.ChunkSize, (2 * BootIsoImage.ChunkSize) + 99_999, fixture.Image.Bytes.Length);

        // The plan and the version are known before anything is held: HEAD reads no chunk.
        using (var warm = await IsoResponses.SendAsync(gateway.Client, HttpMethod.Head, path))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        // The upstream stalls every fetch of chunk 2 (its range starts "bytes=2..."), so reads of it stay in flight.
        fixture.Upstream.Hold("bytes=2");
        try
        {
            var admitted = Enumerable.Range(0, Limit)
                .Select(_ => IsoResponses.GetRangeAsync(gateway.CreateClient(), path, probe.Header))
                .ToArray();

            // A HEAD needs no chunk: while it is admitted, fewer than the limit are held; the first 503 says all are.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                using var head = await IsoResponses.SendAsync(gateway.Client, HttpMethod.Head, path);
                if (head.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }

                Assert.Equal(HttpStatusCode.OK, head.StatusCode);
                Assert.True(DateTime.UtcNow < deadline, "The held reads never filled the gateway.");
                await Task.Delay(20);
            }

            var clock = Stopwatch.StartNew();
            var excess = await Task.WhenAll(Enumerable.Range(0, Excess).Select(async i =>
            {
                using var client = gateway.CreateClient();
                using var response = i % 3 == 0
                    ? await IsoResponses.SendAsync(client, HttpMethod.Head, path)
                    : await IsoResponses.GetRangeAsync(client, path, probe.Header);
                var reason = response.StatusCode == HttpStatusCode.ServiceUnavailable && i % 3 != 0
                    ? await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.ServiceUnavailable, "--max-concurrent-requests")
                    : null;
                return (response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta, Reason: reason);
            }));
            var turnedAwayIn = clock.Elapsed;

            Assert.All(excess, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
            Assert.All(excess, r => Assert.Equal(TimeSpan.FromSeconds(1), r.RetryAfter));
            Assert.True(turnedAwayIn < Immediate, $"{Excess} requests took {turnedAwayIn} to be turned away.");
            Assert.All(admitted, task => Assert.False(task.IsCompleted, "An admitted read finished while its chunk was held."));

            // Health endpoints are not ISO requests: probes keep working while the gateway is full.
            using (var live = await gateway.Client.GetAsync(new Uri("/health/live", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }

            fixture.Upstream.ReleaseHeld();
            foreach (var task in admitted)
            {
                using var response = await task;
                Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
                Assert.Equal($"bytes {probe.Start}-{probe.Start + probe.Length - 1}/{fixture.Image.Bytes.Length}", response.Content.Headers.ContentRange?.ToString());
                Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), reference.AsSpan((int)probe.Start, (int)probe.Length)));
            }
        }
        finally
        {
            fixture.Upstream.ReleaseHeld();
        }

        // Every place is free again.
        var after = await Task.WhenAll(Enumerable.Range(0, Limit).Select(_ => IsoResponses.CheckRangeAsync(gateway.CreateClient(), path, probe, reference)));
        Assert.All(after, Assert.Null);
        Assert.Contains(gateway.Log.Lines, line => line.EventId.Id == 3004 && line.Message.Contains("--max-concurrent-requests", StringComparison.Ordinal));
    }
}
