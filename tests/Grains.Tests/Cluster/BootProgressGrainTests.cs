using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Tests.Cluster;

/// <summary>
/// The machine grain adds up gateways' reports: distinct bytes are the union of their block bitmaps, and a failure
/// followed by a successful read is a boot going on, not a failed one.
/// </summary>
[Collection(GrainClusterDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class BootProgressGrainTests(GrainClusterFixture fixture)
{
    private const int Block = BootReadReport.BlockSize;

    // Ten whole blocks and 100 bytes of an eleventh.
    private const long IsoLength = (10L * Block) + 100;

    private static readonly DateTimeOffset Start = new(2025, 5, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ReportReadsAsync_OverlappingBlocksFromTwoGateways_DistinctBytesAreTheUnion()
    {
        var machine = fixture.Grains.GetGrain<IMachineGrain>(GrainClusterFixture.OwnSourceMac);

        // One gateway served blocks 0-3, the other blocks 2-5 and the short last block (10): 7 distinct blocks.
        await machine.ReportReadsAsync(Report(bytes: 4 * Block, requests: 4, at: Start, blocks: [0, 1, 2, 3]));
        await machine.ReportReadsAsync(Report(bytes: (4 * Block) + 100, requests: 5, at: Start.AddSeconds(1), blocks: [2, 3, 4, 5, 10]));
        var boot = await machine.GetBootAsync();

        Assert.NotNull(boot);
        Assert.Equal((6L * Block) + 100, boot.DistinctBytes);
        Assert.Equal((8L * Block) + 100, boot.BytesServed);
        Assert.Equal(9, boot.Requests);
        Assert.Equal(Start, boot.FirstRead);
        Assert.Equal(Start.AddSeconds(1), boot.LastRead);
        Assert.Equal(BootState.Booting, boot.State);
        Assert.Equal(IsoLength, boot.IsoLength);
    }

    [Fact]
    public async Task ReportReadsAsync_ErrorThenSuccessfulRead_BootingWithTheErrorKept()
    {
        var machine = fixture.Grains.GetGrain<IMachineGrain>(GrainClusterFixture.UnsafeMac);
        var error = new BootReadError(502, "upstream: the ISO server could not be reached or the connection broke", Start.AddSeconds(1));

        await machine.ReportReadsAsync(Report(bytes: Block, requests: 1, at: Start, blocks: [0]));
        await machine.ReportReadsAsync(Report(bytes: 0, requests: 1, at: Start.AddSeconds(1), blocks: [], error: error, success: false));
        var failed = await machine.GetBootAsync();
        await machine.ReportReadsAsync(Report(bytes: Block, requests: 1, at: Start.AddSeconds(2), blocks: [1]));
        var resumed = await machine.GetBootAsync();

        Assert.Equal(BootState.Failed, failed!.State);
        Assert.Equal("502 upstream: the ISO server could not be reached or the connection broke", failed.LastError);
        Assert.Equal(BootState.Booting, resumed!.State);
        Assert.Equal(failed.LastError, resumed.LastError);
        Assert.Equal(3, resumed.Requests);
        Assert.Equal(2L * Block, resumed.DistinctBytes);
    }

    [Fact]
    public async Task ReportReadsAsync_ErrorsForMacWithoutHardware_NothingOnRecord()
    {
        var machine = fixture.Grains.GetGrain<IMachineGrain>("aa:bb:cc:99:99:01");

        await machine.ReportReadsAsync(Report(bytes: 0, requests: 1, at: Start, blocks: [], error: new BootReadError(503, "the cluster is unavailable", Start), success: false));

        Assert.Null(await machine.GetBootAsync());
    }

    private static BootReadReport Report(long bytes, int requests, DateTimeOffset at, long[] blocks, BootReadError? error = null, bool success = true)
    {
        var words = new ulong[BootReadReport.WordCount(IsoLength)];
        foreach (var block in blocks)
        {
            words[block / 64] |= 1UL << (int)(block % 64);
        }

        return new BootReadReport("http://upstream.test/files/hook.iso", "v1", IsoLength, bytes, requests, at, at, success ? at : null, error, 0, words);
    }
}
