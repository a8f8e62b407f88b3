using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Caching;

/// <summary>
/// DESIGN invariant 3: when the upstream publishes a new ISO, the gateway moves to it (new ETag, new bytes) without
/// ever serving a response that mixes bytes of both versions, and a response's ETag always names its bytes' version.
/// </summary>
[Collection(BootIsoDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class UpstreamVersionChangeTests(BootIsoFixture fixture)
{
    private const string Mac = TestMachines.Mac1;

    // Only a guard against a gateway that never notices; nothing asserts how fast it does.
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Get_UpstreamPublishesNewVersion_SwitchesWholeResponsesToItWithNewETag()
    {
        var isoName = $"versioned-{Guid.NewGuid():N}.iso";
        var v1 = fixture.Image;
        var v2 = await fixture.VariantAsync();
        var reference1 = ReferencePatch.Apply(v1.Bytes, v1.Magic, TestMachines.KernelParams(Mac));
        var reference2 = ReferencePatch.Apply(v2.Bytes, v2.Magic, TestMachines.KernelParams(Mac));
        Assert.Equal(reference1.Length, reference2.Length);
        fixture.Upstream.SetFile(isoName, v1.Bytes, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var gateway = await fixture.StartGatewayAsync(isoName, "--iso-revalidate-interval", "00:00:01");
        var path = GatewayInstance.IsoPath(Mac);

        // Version 1, read whole, so every chunk of it is cached when the upstream changes.
        using (var first = await gateway.Client.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(-1, ReferencePatch.FirstDifference(await first.Content.ReadAsByteArrayAsync(), reference1));
        }

        var etag1 = await ETagAsync(gateway.Client, path, TestMachines.Mac1);
        var otherEtag1 = await ETagAsync(gateway.Client, GatewayInstance.IsoPath(TestMachines.Mac2), TestMachines.Mac2);

        fixture.Upstream.SetFile(isoName, v2.Bytes, new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero));

        // Until the gateway notices, whole responses of version 1; afterwards, of version 2. In between a response
        // may fail (503, or a body cut short once headers are out), but none may be a splice of both versions.
        var random = new Random(7);
        var failures = new List<string>();
        var stopAt = DateTime.UtcNow + GiveUpAfter;
        string? etag2 = null;
        while (etag2 is null)
        {
            Assert.True(DateTime.UtcNow < stopAt, $"No new ETag after the upstream changed; failed attempts: {string.Join("; ", failures)}");
            var (etag, problem) = await FullGetAsync(gateway.Client, path, etag1, reference1, reference2, failures);
            Assert.Null(problem);
            foreach (var probe in RangeSampler.Random(random, reference1.Length, 16))
            {
                Assert.Null(await CheckRangeByVersionAsync(gateway.Client, path, probe, etag1, reference1, reference2, failures));
            }

            etag2 = etag is not null && etag != etag1 ? etag : null;
            if (etag2 is null)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }
        }

        // Settled: exactly version 2, under a new strong ETag, for both machines.
        using var settled = await gateway.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, settled.StatusCode);
        Assert.Equal(etag2, settled.Headers.ETag?.ToString());
        Assert.False(settled.Headers.ETag!.IsWeak);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await settled.Content.ReadAsByteArrayAsync(), reference2));
        Assert.Equal(new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), settled.Content.Headers.LastModified);
        var edges = RangeSampler.AroundEdges(reference2.Length, v2.Occurrences, v2.Magic.Length, v2.ChunkBoundaries);
        var problems = await IsoResponses.CheckRangesAsync(gateway.Client, edges.Select(probe => (path, probe, reference2)));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems.Take(20)));
        Assert.NotEqual(otherEtag1, await ETagAsync(gateway.Client, GatewayInstance.IsoPath(TestMachines.Mac2), TestMachines.Mac2));
    }

    private static async Task<string> ETagAsync(HttpClient client, string path, string mac)
    {
        using var response = await IsoResponses.SendAsync(client, HttpMethod.Head, path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.ETag?.ToString() ?? throw new Xunit.Sdk.XunitException($"No ETag for {mac}");
    }

    // Returns the ETag of a complete 200 (null when the attempt failed in an allowed way), or the problem found.
    private static async Task<(string? ETag, string? Problem)> FullGetAsync(
        HttpClient client, string path, string etag1, byte[] reference1, byte[] reference2, List<string> failures)
    {
        try
        {
            using var response = await client.GetAsync(path);
            var body = await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                failures.Add("full GET: 503");
                return (null, null);
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                return (null, $"full GET: {(int)response.StatusCode}");
            }

            var etag = response.Headers.ETag?.ToString();
            var reference = etag == etag1 ? reference1 : reference2;
            var difference = ReferencePatch.FirstDifference(body, reference);
            return difference < 0
                ? (etag, null)
                : (null, $"full GET with ETag {etag} (version {(etag == etag1 ? 1 : 2)}) differs from that version at offset {difference}");
        }
        catch (HttpRequestException e)
        {
            failures.Add("full GET cut short: " + e.Message);
            return (null, null);
        }
    }

    private static async Task<string?> CheckRangeByVersionAsync(
        HttpClient client, string path, RangeProbe probe, string etag1, byte[] reference1, byte[] reference2, List<string> failures)
    {
        try
        {
            using var response = await IsoResponses.GetRangeAsync(client, path, probe.Header);
            var body = await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                failures.Add($"{probe}: 503");
                return null;
            }

            if (response.StatusCode != HttpStatusCode.PartialContent)
            {
                return $"{probe}: {(int)response.StatusCode}";
            }

            var etag = response.Headers.ETag?.ToString();
            var reference = etag == etag1 ? reference1 : reference2;
            var difference = ReferencePatch.FirstDifference(body, reference.AsSpan((int)probe.Start, (int)probe.Length));
            return difference < 0 ? null : $"{probe} with ETag {etag} differs from that version at offset {probe.Start + difference}";
        }
        catch (HttpRequestException e)
        {
            failures.Add($"{probe} cut short: {e.Message}");
            return null;
        }
    }
}
