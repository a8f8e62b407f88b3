using IsoCluster.Grains.Admin;
using IsoCluster.Grains.SourceIso;
using IsoCluster.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace IsoCluster.Grains.Tests.Cluster;

/// <summary>
/// The per-silo cache report behind <c>/api/cache</c>, on the two-silo test cluster: each silo's grain runs on that silo
/// and reports exactly what its budget holds, and the per-version figures add up over the silos to what was read.
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
}
