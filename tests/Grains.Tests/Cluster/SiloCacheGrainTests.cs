using IsoCluster.Grains.Admin;
using IsoCluster.Grains.SourceIso;
using IsoCluster.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.TestingHost;

namespace IsoCluster.Grains.Tests.Cluster;

/// <summary>
/// The per-silo cache report behind <c>/api/cache</c> and the purge behind <c>/api/purge</c>, on the two-silo test
/// cluster: each silo's grain runs on that silo and reports exactly what its budget holds, the per-version figures add
/// up over the silos to what was read, and a purge reaches every silo's own memory.
/// </summary>
[Collection(GrainClusterDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class SiloCacheGrainTests(GrainClusterFixture fixture)
{
    [Fact]
    public async Task GetReportAsync_EachSilosGrain_ReportsThatSilosBudget()
    {
        var silos = fixture.Cluster.Silos.OfType<InProcessSiloHandle>().ToArray();
        Assert.Equal(2, silos.Length);

        foreach (var silo in silos)
        {
            var address = silo.SiloAddress.ToParsableString();
            var budget = silo.SiloHost.Services.GetRequiredService<ChunkMemoryBudget>();

            var report = await fixture.Grains.GetGrain<ISiloCacheGrain>(address).GetReportAsync();

            Assert.Equal(address, report.Silo);
            Assert.Equal(budget.UsedBytes, report.CachedBytes);
            Assert.Equal(budget.Count, report.Chunks);
            Assert.Equal(budget.CapacityBytes, report.BudgetBytes);
        }
    }

    [Fact]
    public async Task GetReportAsync_AfterReadsOfOneVersion_SumsOverSilosToTheChunksReadAndTheirHitsAndMisses()
    {
        const string name = "cache-report.iso";
        var length = (2 * GrainClusterFixture.ChunkSize) + 1000;
        fixture.Upstream.SetFile(name, IsoImageBuilder.Filler(length, seed: 11));
        var version = await fixture.VersionAsync(name);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(UpstreamStatus.Ok, (await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(i)).ReadAsync(version, 0, 16)).Status);
        }

        Assert.Equal(UpstreamStatus.Ok, (await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(0)).ReadAsync(version, 100, 16)).Status);

        var reports = await Task.WhenAll(fixture.Cluster.Silos.Select(silo =>
            fixture.Grains.GetGrain<ISiloCacheGrain>(silo.SiloAddress.ToParsableString()).GetReportAsync().AsTask()));
        var parts = reports.SelectMany(r => r.Versions).Where(v => v.VersionId == version.Id).ToArray();

        Assert.NotEmpty(parts);
        Assert.All(parts, part =>
        {
            Assert.Equal(version.Length, part.IsoLength);
            Assert.Equal(version.Source.DisplayUrl, part.SourceIso);
        });

        // Chunk data only (the last chunk is short), not the margins fetched around each chunk.
        Assert.Equal(length, parts.Sum(p => p.CachedBytes));
        Assert.Equal(3, parts.Sum(p => p.Chunks));
        Assert.Equal(3, parts.Sum(p => p.Misses));
        Assert.Equal(1, parts.Sum(p => p.Hits));
    }

    [Fact]
    public async Task GetReportAsync_KeyNamingNoSiloOfTheCluster_FailsRatherThanReportingAnotherSilo()
    {
        var gone = fixture.Cluster.Primary!.SiloAddress.ToParsableString().Split('@')[0] + "@1";

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => fixture.Grains.GetGrain<ISiloCacheGrain>(gone).GetReportAsync().AsTask());

        Assert.Contains("is not in the cluster", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PurgeAsync_SourceCachedOnBothSilos_DropsItsChunksOnEach_AndTheNextReadFetchesAgain()
    {
        // Chunks are placed by a hash of their key (which holds the upstream's random port), so chunks are read until
        // both silos hold some; each silo keeps three, evicting older ones.
        const string name = "purge.iso";
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(12, seed: 32));
        var version = await fixture.VersionAsync(name);
        for (var i = 0; i < 12 && (await HeldPerSiloAsync(version)).Count(chunks => chunks > 0) < 2; i++)
        {
            Assert.Equal(UpstreamStatus.Ok, (await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(i)).ReadAsync(version, 0, 16)).Status);
        }

        var held = await HeldPerSiloAsync(version);
        Assert.All(held, chunks => Assert.True(chunks > 0));

        var purged = await ClusterCache.PurgeAsync(fixture.Grains, version.Source.Url, NullLogger.Instance, CancellationToken.None);

        Assert.Equal(AdminStatus.Ok, purged.Status);
        Assert.Equal(held.Sum(), purged.Value!.ChunksPurged);
        Assert.Equal(2, purged.Value.Silos);
        Assert.All(await HeldPerSiloAsync(version), chunks => Assert.Equal(0, chunks));

        fixture.Upstream.ClearRequests();
        Assert.Equal(UpstreamStatus.Ok, (await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(0)).ReadAsync(version, 0, 16)).Status);
        // A version probe (bytes=0-0) may come and go; the chunk itself is fetched once.
        Assert.Single(fixture.Upstream.Requests, r => r.Path == $"/files/{name}" && r.Range != "bytes=0-0");
    }

    [Fact]
    public async Task PurgeAsync_OtherSource_LeavesThisOnesChunks()
    {
        const string name = "purge-kept.iso";
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(2, seed: 33));
        var version = await fixture.VersionAsync(name);
        Assert.Equal(UpstreamStatus.Ok, (await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(0)).ReadAsync(version, 0, 16)).Status);

        var purged = await ClusterCache.PurgeAsync(fixture.Grains, fixture.Upstream.Url("never-read.iso"), NullLogger.Instance, CancellationToken.None);

        Assert.Equal(0, purged.Value!.ChunksPurged);
        Assert.Equal(1, (await HeldPerSiloAsync(version)).Sum());
    }

    // Chunks of the version each silo holds, as its own grain reports them.
    private async Task<long[]> HeldPerSiloAsync(IsoVersion version)
    {
        var reports = await Task.WhenAll(fixture.Cluster.Silos.Select(silo =>
            fixture.Grains.GetGrain<ISiloCacheGrain>(silo.SiloAddress.ToParsableString()).GetReportAsync().AsTask()));
        return [.. reports.Select(report => report.Versions.Where(v => v.VersionId == version.Id).Sum(v => v.Chunks))];
    }
}
