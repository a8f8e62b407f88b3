using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>
/// The production topology as separate processes: three silos and two client-mode gateways that find each other only
/// through Redis membership. Every byte is right through either gateway, each upstream chunk is fetched once
/// cluster-wide (DESIGN invariant 4), and the chunk cache spreads over the silos.
/// </summary>
[Collection(ProcessClusterDefinition.Name)]
[Trait("Category", "Cluster")]
[Trait("Category", "EndToEnd")]
public sealed class RedisClusterFormationTests(ITestOutputHelper output)
{
    // Small chunks make 25 chunk grains of the test ISO, so that placement has enough of them to spread; the
    // patch edges still fall inside chunks and across their boundaries.
    private const int ChunkSize = 256 * 1024;

    [Fact]
    public async Task Get_WholeIsoForBothMacsThroughBothGateways_EqualsReferenceFetchesEachChunkOnceAndSpreadsChunksOverSilos()
    {
        var clock = Stopwatch.StartNew();
        await using var bed = await ClusterTestBed.StartAsync(silos: 3, gateways: 2, chunkSize: "256KiB");
        var cluster = bed.Cluster;
        output.WriteLine($"cluster of 3 silos and 2 gateways ready after {clock.Elapsed.TotalSeconds:0.0} s");

        var retries = await bed.WarmUpAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"warm-up: first reads through both gateways right after {retries} retries of a 503/504");

        // All four downloads at once, so that both gateways miss the same chunks together.
        await bed.AssertWholeIsoThroughEveryGatewayAsync();
        output.WriteLine($"4 whole-ISO downloads right after {clock.Elapsed.TotalSeconds:0.0} s");

        // A fetch reads its chunk plus magic-length-1 bytes either side: its chunk is the first boundary at or after
        // the window's start. The version probe reads one byte.
        var total = bed.Image.Bytes.Length;
        var chunkCount = (total + ChunkSize - 1) / ChunkSize;
        var requests = bed.Upstream.Requests.Where(r => r.Path == "/files/" + ClusterTestBed.IsoName).ToList();
        var fetchesPerChunk = requests
            .Where(r => r.Range != "bytes=0-0")
            .GroupBy(r => (int)((StartOf(r.Range) + ChunkSize - 1) / ChunkSize))
            .ToDictionary(g => g.Key, g => g.Count());
        Assert.True(
            Enumerable.Range(0, chunkCount).ToDictionary(i => i, _ => 1).OrderBy(p => p.Key).SequenceEqual(fetchesPerChunk.OrderBy(p => p.Key)),
            $"upstream fetches per chunk (want 1 for each of {chunkCount}): {string.Join(", ", fetchesPerChunk.OrderBy(p => p.Key).Select(p => $"{p.Key}:{p.Value}"))}; " +
            $"requests: {string.Join(", ", requests.Select(r => $"{r.Method} {r.Range} {r.StatusCode}"))}");

        var activations = await bed.Observer.ChunkActivationsBySiloPortAsync();
        var distribution = string.Join(", ", cluster.Silos.Select(silo => $"{silo.Name} {activations.GetValueOrDefault(silo.SiloPort)}"));
        output.WriteLine($"chunk grains per silo ({chunkCount} chunks of {ChunkSize / 1024} KiB): {distribution}");
        Assert.True(activations.Values.Sum() == chunkCount, $"{activations.Values.Sum()} chunk grain activations for {chunkCount} chunks: {distribution}");
        Assert.True(cluster.Silos.All(silo => activations.GetValueOrDefault(silo.SiloPort) > 0), $"a silo holds no chunk: {distribution}");
    }

    private static long StartOf(string? range)
    {
        Assert.NotNull(range);
        Assert.StartsWith("bytes=", range, StringComparison.Ordinal);
        return long.Parse(range.AsSpan("bytes=".Length, range.IndexOf('-', StringComparison.Ordinal) - "bytes=".Length), CultureInfo.InvariantCulture);
    }
}
