using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>
/// DESIGN invariant 8: an upstream blip is retried inside the BMC's deadline, so a read that a retry can save succeeds.
/// Every chunk fetch of a whole boot meets the fault on its first attempt(s) and must still come out whole: every read a
/// 206 with the reference bytes, one version throughout (invariant 3), and each window fetched exactly as often as the
/// fault demands and no more (invariant 4).
/// </summary>
[Collection(FaultsDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class TransientFaultTests(FaultsFixture fixture, ITestOutputHelper output)
{
    // Not a divisor of the chunk size, so reads straddle chunk boundaries as a BMC's do now and then.
    private const int ReadSize = 300_000;

    [Theory]
    [InlineData(FaultKind.ResetMidBody, 65_536, 0, 1)]
    [InlineData(FaultKind.ResetMidBody, 0, 0, 2)]
    [InlineData(FaultKind.ShortBody, 100_000, 0, 1)]
    [InlineData(FaultKind.StallBeforeHeaders, 0, 0, 1)]
    [InlineData(FaultKind.StallMidBody, 65_536, 0, 1)]
    [InlineData(FaultKind.Status, 0, 503, 3)]
    [InlineData(FaultKind.Status, 0, 500, 2)]
    [InlineData(FaultKind.Status, 0, 502, 1)]
    [InlineData(FaultKind.Status, 0, 504, 1)]
    [InlineData(FaultKind.Status, 0, 408, 1)]
    [InlineData(FaultKind.Status, 0, 429, 2)]
    public async Task Get_TransientFaultOnEveryChunkFetch_EveryReadSucceedsWithReferenceBytes(FaultKind kind, int bytes, int status, int timesPerRange)
    {
        var fault = new OriginFault(kind, bytes, status);
        var name = fixture.PublishBootIso(kind.ToString());
        fixture.Origin.Inject(name, fault, timesPerRange);

        var reader = await ReadWholeBootAsync(name, fault);

        Assert.True(reader.Statuses.Keys.SequenceEqual([206]), reader.Describe());
        Assert.Equal(0, reader.WrongBytes);
        Assert.Equal(0, reader.MixedVersions);

        // Each window met the fault as often as scripted, then one good attempt; nothing was fetched twice besides.
        var windows = (int)((fixture.Reference.Length + BootIsoImage.ChunkSize - 1) / BootIsoImage.ChunkSize);
        var expected = windows * (timesPerRange + 1);
        Assert.True(
            await Eventually.HoldsAsync(() => fixture.Origin.ChunkRequests(name).Count == expected, TimeSpan.FromSeconds(10)),
            $"Expected {expected} chunk requests, saw: {string.Join("; ", fixture.Origin.ChunkRequests(name).Select(r => $"{r.Range} {r.Status} {r.Fault}"))}");
        Assert.All(
            fixture.Origin.ChunkRequests(name).GroupBy(r => r.Range),
            window => Assert.Equal(timesPerRange, window.Count(r => r.Fault is not null)));
    }

    [Theory]
    [InlineData(OriginValidators.None)]
    [InlineData(OriginValidators.LastModifiedOnly)]
    public async Task Get_UpstreamWithFewerValidatorsAndA503Burst_EveryReadSucceeds(OriginValidators validators)
    {
        // Without an ETag (or any validator) only what the upstream does give can be checked; a stable file must still
        // be served whole, through the same retries.
        var fault = OriginFault.Error(503);
        var name = fixture.PublishBootIso($"validators-{validators}", validators);
        fixture.Origin.Inject(name, fault, timesPerRange: 2);

        var reader = await ReadWholeBootAsync(name, fault);

        Assert.True(reader.Statuses.Keys.SequenceEqual([206]), reader.Describe());
        Assert.Equal(0, reader.WrongBytes);
        Assert.Equal(0, reader.MixedVersions);
    }

    [Fact]
    public async Task Get_UpstreamAnswers200ToEveryRange_EveryReadSucceedsWithReferenceBytes()
    {
        // RFC 9110 §14.2 lets a server ignore Range; the silo then reads the window out of the whole body, checked by its
        // length and validators like any other answer.
        var fault = OriginFault.WholeFile();
        var name = fixture.PublishBootIso("whole-file");
        fixture.Origin.Inject(name, fault, int.MaxValue);

        var reader = await ReadWholeBootAsync(name, fault);

        Assert.True(reader.Statuses.Keys.SequenceEqual([206]), reader.Describe());
        Assert.Equal(0, reader.WrongBytes);
        Assert.All(fixture.Origin.ChunkRequests(name), r => Assert.Equal(200, r.Status));
    }

    private async Task<BootReader> ReadWholeBootAsync(string name, OriginFault fault)
    {
        var reader = new BootReader(fixture.Gateway.CreateClient(), fixture.PathOf(name), fixture.Reference);
        await reader.ReadSpanAsync(0, fixture.Reference.Length, ReadSize);
        var slowest = reader.Reads.Max(r => r.Elapsed);
        output.WriteLine($"FAULT-TABLE | {fault} | {reader.StatusSummary} | wrong bytes {reader.WrongBytes} | mixed {reader.MixedVersions} | slowest read {slowest.TotalMilliseconds:0} ms | upstream requests {fixture.Origin.ChunkRequests(name).Count}");
        return reader;
    }
}
