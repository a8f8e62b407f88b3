using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>
/// Cached boots go on when the upstream is down: with the upstream process gone, ranges already cached are served (to
/// the boot in progress, and to a new boot that finds the upstream unreachable when it revalidates the version:
/// stale-if-error), and a miss gets a clear 502/504 within a BMC's deadline.
/// </summary>
[Collection(FaultsDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class UpstreamDownTests(FaultsFixture fixture, ITestOutputHelper output)
{
    private const int ReadSize = 300_000;
    private const int Chunk = BootIsoImage.ChunkSize;
    private static readonly TimeSpan BmcDeadline = TimeSpan.FromSeconds(5);

    // Longer than --iso-revalidate-interval 00:00:01, so the next new boot asks the upstream again.
    private static readonly TimeSpan PastTheInterval = TimeSpan.FromMilliseconds(1500);

    [Fact]
    public async Task Get_UpstreamStopped_CachedRangesServedAndMissesFailClearlyWithinBmcDeadline()
    {
        var origin = await FaultyOrigin.StartAsync();
        await using var stopOrigin = origin;
        await using var gateway = await fixture.StartGatewayAsync(origin, "--iso-revalidate-interval", "00:00:01");
        var name = fixture.PublishBootIso("down", origin: origin);
        var reader = new BootReader(gateway.CreateClient(), fixture.PathOf(name, origin), fixture.Reference);
        await reader.ReadSpanAsync(0, 2L * Chunk, ReadSize);
        Assert.True(reader.Statuses.Keys.SequenceEqual([206]), reader.Describe());

        await origin.DisposeAsync();

        // The boot in progress reads what is cached, byte for byte.
        await reader.ReadSpanAsync(0, 2L * Chunk, ReadSize);
        Assert.True(reader.Statuses.Keys.SequenceEqual([206]), reader.Describe());

        // A chunk never fetched: a clear upstream failure, in time for the BMC to retry rather than give up.
        var miss = await reader.ReadAsync((5L * Chunk) + 100, 1_000);
        output.WriteLine($"FAULT-TABLE | upstream process stopped | cached: 206 (all), miss: {miss.Status} in {miss.Elapsed.TotalMilliseconds:0} ms: {miss.Detail} | wrong bytes {reader.WrongBytes}");
        // Usually the silo's retries end first (502 naming the upstream, ~1.3 s); on a machine loaded enough that they
        // do not, the gateway's own deadline answers (504), which is as clear and as timely.
        Assert.True(miss.Status is 502 or 504, miss.ToString());
        Assert.Contains(miss.Status == 502 ? "upstream" : "did not answer in time", miss.Detail, StringComparison.Ordinal);
        Assert.True(miss.Elapsed < BmcDeadline, $"The miss took {miss.Elapsed}: {miss}");

        // A new boot (machine 1) after the revalidation interval: the probe fails, the last good version is kept.
        await Task.Delay(PastTheInterval);
        var reference1 = ReferencePatch.Apply(fixture.Image.Bytes, fixture.Image.Magic, TestMachines.KernelParams(TestMachines.Mac1));
        var other = new BootReader(gateway.CreateClient(), GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: origin.Url(name)), reference1);
        await other.ReadSpanAsync(0, 2L * Chunk, ReadSize);
        output.WriteLine($"FAULT-TABLE | upstream process stopped, new boot | {other.StatusSummary} | wrong bytes {other.WrongBytes}");
        Assert.True(other.Statuses.Keys.SequenceEqual([206]), other.Describe());
        Assert.Equal(0, reader.WrongBytes + other.WrongBytes);
        Assert.Equal(0, reader.MixedVersions + other.MixedVersions);
    }

    [Fact]
    public async Task Get_UpstreamAnswers503ToRevalidation_NewBootKeepsLastGoodVersionAndIsNotHeldBack()
    {
        // An upstream behind a load balancer is "down" with 503s rather than refused connections. The revalidation of
        // a version the cluster already has is one attempt (stale-if-error covers it), not a round of retries that every
        // new boot would wait on.
        var origin = await FaultyOrigin.StartAsync();
        await using var stopOrigin = origin;
        await using var gateway = await fixture.StartGatewayAsync(origin, "--iso-revalidate-interval", "00:00:01");
        var name = fixture.PublishBootIso("stale-503", origin: origin);
        var reader = new BootReader(gateway.CreateClient(), fixture.PathOf(name, origin), fixture.Reference);
        await reader.ReadSpanAsync(0, Chunk, ReadSize);

        origin.Inject(name, OriginFault.Error(503), int.MaxValue, probeToo: true);
        await Task.Delay(PastTheInterval);
        var probesBefore = origin.Requests.Count(r => r.Name == name && r.Range == "bytes=0-0");
        var mark = gateway.Log.Mark();
        var reference1 = ReferencePatch.Apply(fixture.Image.Bytes, fixture.Image.Magic, TestMachines.KernelParams(TestMachines.Mac1));
        var other = new BootReader(gateway.CreateClient(), GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: origin.Url(name)), reference1);
        var first = await other.ReadAsync(0, ReadSize);
        var miss = await other.ReadAsync((4L * Chunk) + 100, 1_000);
        output.WriteLine($"FAULT-TABLE | upstream answering 503 to everything, new boot | cached: {first.Status} in {first.Elapsed.TotalMilliseconds:0} ms, miss: {miss.Status} in {miss.Elapsed.TotalMilliseconds:0} ms: {miss.Detail} | wrong bytes {other.WrongBytes}");

        Assert.True(first.Status == 206 && first.Is(0), other.Describe());
        Assert.Equal(1, origin.Requests.Count(r => r.Name == name && r.Range == "bytes=0-0") - probesBefore);
        Assert.True(miss.Status == 502, other.Describe());
        Assert.Contains(gateway.Log.LinesSince(mark), line => line.Message.Contains("503", StringComparison.Ordinal));
        Assert.True(miss.Elapsed < BmcDeadline, miss.ToString());
        Assert.Equal(0, other.WrongBytes);
    }
}
