using IsoCluster.TestSupport;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Ranges;

/// <summary>
/// DESIGN invariant 1: for every range, the bytes served for a MAC equal the upstream ISO with each magic-string
/// occurrence replaced by that MAC's padded parameters, occurrences straddling chunk and request boundaries included.
/// </summary>
[Collection(BootIsoDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class RandomRangeTests(BootIsoFixture fixture)
{
    private const int RandomRangesPerMac = 2000;

    // Enough requests in flight to interleave chunk reads, few enough for a 2-core runner.
    private const int Parallelism = 8;

    [Theory]
    [InlineData(TestMachines.Mac1, 1)]
    [InlineData(TestMachines.Mac2, 2)]
    public async Task Get_RangesAroundEveryOccurrenceAndChunkBoundary_EqualReferencePatch(string mac, int seed)
    {
        // RFC 9110 §14.1.2 (byte ranges, clamping), §14.4 (Content-Range), §15.3.7 (206).
        var image = fixture.Image;
        var probes = RangeSampler.AroundEdges(image.Bytes.Length, image.Occurrences, image.Magic.Length, image.ChunkBoundaries);

        var problems = await CheckAsync(mac, probes, seed);

        Assert.True(problems.Count == 0, Summarize(problems, probes.Count));
    }

    [Theory]
    [InlineData(TestMachines.Mac1, 1)]
    [InlineData(TestMachines.Mac2, 2)]
    public async Task Get_ThousandsOfRandomRanges_EqualReferencePatch(string mac, int seed)
    {
        // RFC 9110 §14.1.2, §14.4, §15.3.7. A fixed seed makes a failure reproducible.
        var probes = RangeSampler.Random(new Random(seed), fixture.Image.Bytes.Length, RandomRangesPerMac);

        var problems = await CheckAsync(mac, probes, seed);

        Assert.True(problems.Count == 0, Summarize(problems, probes.Count));
    }

    private Task<IReadOnlyList<string>> CheckAsync(string mac, IReadOnlyList<RangeProbe> probes, int seed)
    {
        var reference = fixture.Reference(mac);

        // Shuffled so that reads of one chunk interleave with reads of others, as thousands of BMCs would.
        var order = probes.ToArray();
        new Random(seed).Shuffle(order);
        var path = GatewayInstance.IsoPath(mac);
        return IsoResponses.CheckRangesAsync(fixture.Gateway.Client, order.Select(probe => (path, probe, reference)), Parallelism);
    }

    private static string Summarize(IReadOnlyList<string> problems, int total) =>
        $"{problems.Count} of {total} ranges were wrong:{Environment.NewLine}" + string.Join(Environment.NewLine, problems.Take(20));
}
