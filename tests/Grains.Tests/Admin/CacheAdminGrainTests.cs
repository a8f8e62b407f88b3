using IsoCluster.Grains.Admin;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace IsoCluster.Grains.Tests.Admin;

/// <summary>
/// The cache summary and purge on a two-silo cluster: each silo's <see cref="ISiloCacheGrain"/> runs on the silo its key
/// names (so it reports and purges that silo's own memory), and a purge reaches every silo.
/// </summary>
[Collection(GrainClusterDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class CacheAdminGrainTests(GrainClusterFixture fixture)
{
    [Fact]
    public async Task Summary_ReportsEachSilosOwnBudget()
    {
        var name = "summary.iso";
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(3, seed: 31));
        await ReadAllChunksAsync(name, 3);

        var summary = await fixture.Grains.GetGrain<ICacheAdminGrain>(0).GetSummaryAsync();

        Assert.Equal(2, summary.Silos.Count);
        foreach (var (silo, budget) in SilosWithBudgets())
        {
            var reported = Assert.Single(summary.Silos, s => s.Silo == silo);
            var contents = budget.Contents();
            Assert.Equal(contents.UsedBytes, reported.Bytes);
            Assert.Equal(contents.Chunks, reported.Chunks);
            Assert.Equal(contents.CapacityBytes, reported.CapacityBytes);
        }

        Assert.Equal(summary.Silos.Sum(s => s.Bytes), summary.Bytes);
        Assert.Equal(3, Assert.Single(summary.Sources, s => s.SourceIso == fixture.Upstream.Url(name)).Chunks);
    }

    [Fact]
    public async Task Purge_DropsTheSourcesChunksInEverySilo_AndTheNextReadFetchesAgain()
    {
        // Chunks are placed by a hash of their key (which holds the upstream's random port), so chunks are read until
        // both silos hold some; each silo keeps three, evicting older ones.
        var name = "purge.iso";
        var url = fixture.Upstream.Url(name);
        fixture.Upstream.SetFile(name, GrainClusterFixture.Image(12, seed: 32));
        var version = await fixture.VersionAsync(name);
        for (var i = 0; i < 12 && SilosWithBudgets().Count(pair => pair.Budget.Contents().BySource.ContainsKey(url)) < 2; i++)
        {
            Assert.Equal(UpstreamStatus.Ok, (await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(i)).ReadAsync(version, 0, 16)).Status);
        }

        var held = SilosWithBudgets().Sum(pair => pair.Budget.Contents().BySource.GetValueOrDefault(url).Chunks);
        Assert.Equal(2, SilosWithBudgets().Count(pair => pair.Budget.Contents().BySource.ContainsKey(url)));

        var purged = await fixture.Grains.GetGrain<ICacheAdminGrain>(0).PurgeAsync(url);

        Assert.Equal(AdminStatus.Ok, purged.Status);
        Assert.Equal(held, purged.Value!.ChunksPurged);
        Assert.Equal(2, purged.Value.Silos);
        Assert.All(SilosWithBudgets(), pair => Assert.False(pair.Budget.Contents().BySource.ContainsKey(url)));

        fixture.Upstream.ClearRequests();
        await ReadAllChunksAsync(name, 1);
        Assert.Equal(1, fixture.Upstream.Requests.Count(r => r.Path == $"/files/{name}" && r.Range != "bytes=0-0"));
    }

    [Fact]
    public async Task Purge_RelativePath_IsRefused()
    {
        var purged = await fixture.Grains.GetGrain<ICacheAdminGrain>(0).PurgeAsync("hook.iso");

        Assert.Equal(AdminStatus.BadRequest, purged.Status);
        Assert.Equal("sourceIso: 'hook.iso' is not an absolute URL or an absolute path", purged.Reason);
    }

    private async Task ReadAllChunksAsync(string name, int chunks)
    {
        var version = await fixture.VersionAsync(name);
        for (var i = 0; i < chunks; i++)
        {
            var read = await fixture.Grains.GetGrain<IIsoChunkGrain>(version.ChunkKey(i)).ReadAsync(version, 0, 16);
            Assert.Equal(UpstreamStatus.Ok, read.Status);
        }
    }

    private IEnumerable<(string Silo, ChunkMemoryBudget Budget)> SilosWithBudgets() =>
        fixture.Cluster.Silos.OfType<InProcessSiloHandle>().Select(silo => (
            silo.SiloHost.Services.GetRequiredService<ILocalSiloDetails>().Name,
            silo.SiloHost.Services.GetRequiredService<ChunkMemoryBudget>()));
}
