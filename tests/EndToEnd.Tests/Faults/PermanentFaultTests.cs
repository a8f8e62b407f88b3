using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.Grains.Upstream;
using IsoCluster.TestSupport;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>
/// DESIGN invariant 7: upstream trouble that no retry within the deadline can save gets a clear 502 or 504, within a
/// BMC's 5 s, with a reason naming the cause; and it is never taken for a version change, so the boot goes on (same
/// ETag, same bytes) once the upstream is back.
/// </summary>
[Collection(FaultsDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class PermanentFaultTests(FaultsFixture fixture, ITestOutputHelper output)
{
    private const int ReadSize = 300_000;

    // A BMC's request timeout (QEMU's and many BMCs'): the failure must reach it before it gives up on its own.
    private static readonly TimeSpan BmcDeadline = TimeSpan.FromSeconds(5);

    // The fixture's gateway runs with the default upstream retry settings.
    private static readonly UpstreamOptions Upstream = new();

    // Only a guard against a boot that never goes on.
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(FaultKind.Status, 0, 503, 502, "503", true)]
    [InlineData(FaultKind.Status, 0, 500, 502, "500", true)]
    [InlineData(FaultKind.Status, 0, 501, 502, "501", false)]
    [InlineData(FaultKind.Status, 0, 404, 502, "404", false)]
    [InlineData(FaultKind.Status, 0, 403, 502, "403", false)]
    [InlineData(FaultKind.ResetMidBody, 65_536, 0, 502, "connection broke", true)]
    [InlineData(FaultKind.ShortBody, 1_000, 0, 502, "body ended", true)]
    [InlineData(FaultKind.StallMidBody, 65_536, 0, 504, "", true)]
    [InlineData(FaultKind.StallBeforeHeaders, 0, 0, 504, "", true)]
    [InlineData(FaultKind.WrongContentRange, 0, 0, 502, "Content-Range", false)]
    public async Task Get_PersistentFault_ClearErrorWithinBmcDeadlineAndBootGoesOnAfterwards(
        FaultKind kind, int bytes, int status, int expectedStatus, string reasonFragment, bool retried)
    {
        var fault = new OriginFault(kind, bytes, status);
        var name = fixture.PublishBootIso($"permanent-{kind}");
        var reader = new BootReader(fixture.Gateway.CreateClient(), fixture.PathOf(name), fixture.Reference);
        var mark = fixture.Gateway.Log.Mark();

        // The boot starts (version pinned, ETag known) before the upstream breaks; chunk 3 is not cached then.
        var first = await reader.ReadAsync(0, ReadSize);
        Assert.Equal(206, first.Status);
        fixture.Origin.Inject(name, fault, int.MaxValue);
        var readStartedAt = DateTimeOffset.UtcNow;
        var failed = await reader.ReadAsync((3L * BootIsoImage.ChunkSize) + 1_000, ReadSize);

        output.WriteLine($"FAULT-TABLE | {fault} (permanent) | {failed.Status} in {failed.Elapsed.TotalMilliseconds:0} ms: {failed.Detail} | wrong bytes {reader.WrongBytes} | upstream requests {fixture.Origin.ChunkRequests(name).Count}");
        Assert.True(failed.Status == expectedStatus, reader.Describe());
        // The client's reason is a fixed text per status; the upstream's own words go to the gateway's log line.
        Assert.Contains(fixture.Gateway.Log.LinesSince(mark), line => line.Message.Contains(reasonFragment, StringComparison.Ordinal));
        Assert.DoesNotContain("changed", failed.Detail, StringComparison.Ordinal);
        Assert.True(failed.Elapsed < BmcDeadline, $"The failure took {failed.Elapsed}: {failed}");
        Assert.DoesNotContain(fixture.Gateway.Log.LinesSince(mark), line => line.Message.Contains("VersionChanged", StringComparison.Ordinal) || line.EventId.Id == 2102);

        // A 4xx other than 408/429, or a response that does not fit the request, is an answer, not a blip: asked once.
        var faultedRequests = fixture.Origin.ChunkRequests(name).Where(r => r.Fault is not null).ToList();
        var faulted = faultedRequests.Count;
        if (retried)
        {
            // A fetch is retried only while its longest backoff still ends inside its retry deadline. On a starved
            // machine (the suite boots VMs beside this test) the first attempt can end so late that no retry fits, which
            // is the deadline at work; an attempt that ended with room for a retry must have been followed by one. The
            // read began before the fetch did and the origin was done after the attempt was, so the room is certain.
            var firstEnded = (faultedRequests.FirstOrDefault()?.EndedAt ?? DateTimeOffset.UtcNow) - readStartedAt;
            var roomForRetry = firstEnded + Upstream.MaxBackoff <= Upstream.RetryDeadline;
            Assert.True(
                faulted > 1 || (faulted == 1 && !roomForRetry),
                $"Only {faulted} attempt(s) for a transient fault; the first ended {firstEnded.TotalMilliseconds:0} ms after the read began.");
        }
        else
        {
            Assert.Equal(1, faulted);
        }

        // The upstream recovers: the same boot goes on, under the same ETag, with the same version's bytes.
        fixture.Origin.Heal(name);
        var stopAt = DateTime.UtcNow + GiveUpAfter;
        FaultRead again;
        do
        {
            Assert.True(DateTime.UtcNow < stopAt, reader.Describe());
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            again = await reader.ReadAsync((3L * BootIsoImage.ChunkSize) + 1_000, ReadSize);
        }
        while (again.Status != 206);

        Assert.Equal(first.ETag, again.ETag);
        Assert.Equal(0, reader.WrongBytes);
        Assert.Equal(0, reader.MixedVersions);
    }
}
