using System.Net;
using IsoCluster.TestSupport;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Caching;

/// <summary>
/// DESIGN invariant 3: when the upstream publishes a new ISO, one boot never mixes bytes of both versions, the ETag
/// is per version (so a client's If-Range never splices them either), and the next boot reads the new version.
/// </summary>
/// <remarks>
/// A machine's boot is a run of reads with gaps shorter than <c>--iso-boot-session-idle</c>; its source ISO version
/// is pinned for that run. A boot ends early when a chunk fetch finds the upstream changed under it (the request
/// fails, and the next one starts a new boot).
/// </remarks>
[Collection(BootIsoDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class UpstreamVersionChangeTests(BootIsoFixture fixture)
{
    private const int ReadSize = 256 * 1024;
    private const int CachedChunks = 3;

    private static readonly DateTimeOffset Version1Date = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Version2Date = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    // Longer than --iso-revalidate-interval 00:00:01 (and the 1 s boot idle of the second test). Nothing asserts
    // how long anything takes; the wait only makes sure the interval has passed.
    private static readonly TimeSpan PastTheInterval = TimeSpan.FromMilliseconds(1500);

    // Only a guard against a gateway that never moves on.
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Get_UpstreamChangesMidBoot_BootStaysOnOneVersionThenNextBootGetsNewOneWhole()
    {
        // A boot idle limit of an hour takes time out of the picture: only the fetch that meets the new upstream ends
        // the boot, so every outcome below is deterministic.
        var (isoName, reference1, reference2) = await PublishVersion1Async();
        await using var gateway = await fixture.StartGatewayAsync(
            isoName, "--iso-revalidate-interval", "00:00:01", "--iso-boot-session-idle", "01:00:00");
        var mac1 = GatewayInstance.IsoPath(TestMachines.Mac1);
        var mac2 = GatewayInstance.IsoPath(TestMachines.Mac2);

        // Machine 1 boots half-way (its first chunks are now cached); machine 2 has just started.
        var etag1 = await ReadSequentiallyAsync(gateway.Client, mac1, reference1, CachedChunks * BootIsoImage.ChunkSize);
        var mac2Etag1 = await ReadSequentiallyAsync(gateway.Client, mac2, fixture.Reference(TestMachines.Mac2), ReadSize);

        fixture.Upstream.SetFile(isoName, (await fixture.VariantAsync()).Bytes, Version2Date);
        await Task.Delay(PastTheInterval);

        // Same boot, past the revalidation interval: still version 1, whole, under its ETag.
        Assert.Equal(etag1, await ReadSequentiallyAsync(gateway.Client, mac1, reference1, CachedChunks * BootIsoImage.ChunkSize));

        // The boot needs a chunk it has not read yet: the upstream no longer has version 1's bytes, and version 2's
        // must not be served under version 1's ETag, so the request fails cleanly (RFC 9110 §15.6.4) with a reason.
        var uncached = RangeProbe.Closed((4L * BootIsoImage.ChunkSize) + 100, (4L * BootIsoImage.ChunkSize) + 1099, reference1.Length);
        using (var failed = await IsoResponses.GetRangeAsync(gateway.Client, mac1, uncached.Header))
        {
            await IsoResponses.AssertOneLineErrorAsync(failed, HttpStatusCode.ServiceUnavailable, "changed");
            Assert.NotEmpty(failed.Headers.RetryAfter?.ToString() ?? "");
        }

        // The retry starts a new boot: all of version 2, under a new strong ETag and the new Last-Modified.
        var etag2 = await AssertWholeVersion2Async(gateway.Client, mac1, reference2);
        Assert.NotEqual(etag1, etag2);

        // Machine 2's boot is still on version 1: a whole-ISO read either fails part-way (headers were out before
        // the missing chunk was met) or is one version throughout; then its next boot is on version 2.
        var mac2Reference2 = ReferencePatch.Apply((await fixture.VariantAsync()).Bytes, fixture.Image.Magic, TestMachines.KernelParams(TestMachines.Mac2));
        var outcomes = new List<string>();
        string? mac2Etag2 = null;
        for (var attempt = 0; attempt < 3 && mac2Etag2 is null; attempt++)
        {
            var (etag, body) = await TryGetWholeAsync(gateway.Client, mac2, outcomes);
            if (body is null)
            {
                continue;
            }

            var expected = etag == mac2Etag1 ? fixture.Reference(TestMachines.Mac2) : mac2Reference2;
            Assert.Equal(-1, ReferencePatch.FirstDifference(body, expected));
            mac2Etag2 = etag == mac2Etag1 ? null : etag;
        }

        Assert.True(mac2Etag2 is not null, $"Machine 2 never moved to version 2: {string.Join("; ", outcomes)}");
    }

    [Fact]
    public async Task Get_NextBootAfterIdle_ETagChangesAndBytesAreWholeNewVersion()
    {
        var (isoName, reference1, reference2) = await PublishVersion1Async();
        await using var gateway = await fixture.StartGatewayAsync(
            isoName, "--iso-revalidate-interval", "00:00:01", "--iso-boot-session-idle", "00:00:01");
        var path = GatewayInstance.IsoPath(TestMachines.Mac1);
        var etag1 = await ReadSequentiallyAsync(gateway.Client, path, reference1, reference1.Length);

        fixture.Upstream.SetFile(isoName, (await fixture.VariantAsync()).Bytes, Version2Date);

        // Each attempt comes after a pause longer than the boot idle limit and the revalidation interval, so it
        // is a new boot that may see the new version. Whatever it gets must be one version, whole.
        var outcomes = new List<string>();
        var stopAt = DateTime.UtcNow + GiveUpAfter;
        string? etag2 = null;
        while (etag2 is null)
        {
            Assert.True(DateTime.UtcNow < stopAt, $"No new ETag after the upstream changed: {string.Join("; ", outcomes)}");
            await Task.Delay(PastTheInterval);
            var (etag, body) = await TryGetWholeAsync(gateway.Client, path, outcomes);
            if (body is not null)
            {
                Assert.Equal(-1, ReferencePatch.FirstDifference(body, etag == etag1 ? reference1 : reference2));
                etag2 = etag == etag1 ? null : etag;
            }
        }

        Assert.Equal(etag2, await AssertWholeVersion2Async(gateway.Client, path, reference2));
    }

    // A file name of its own on the shared upstream, so other tests' gateways never read it.
    private async Task<(string IsoName, byte[] Reference1, byte[] Reference2)> PublishVersion1Async()
    {
        var isoName = $"versioned-{Guid.NewGuid():N}.iso";
        var v1 = fixture.Image;
        var v2 = await fixture.VariantAsync();
        var reference1 = ReferencePatch.Apply(v1.Bytes, v1.Magic, TestMachines.KernelParams(TestMachines.Mac1));
        var reference2 = ReferencePatch.Apply(v2.Bytes, v2.Magic, TestMachines.KernelParams(TestMachines.Mac1));
        Assert.Equal(reference1.Length, reference2.Length);
        fixture.Upstream.SetFile(isoName, v1.Bytes, Version1Date);
        return (isoName, reference1, reference2);
    }

    // Reads [0, end) in BMC-like sequential ranges, checking each against the reference; returns their one ETag.
    private static async Task<string> ReadSequentiallyAsync(HttpClient client, string path, byte[] reference, long end)
    {
        var etags = new HashSet<string>(StringComparer.Ordinal);
        for (long offset = 0; offset < end; offset += ReadSize)
        {
            var probe = RangeProbe.Closed(offset, Math.Min(offset + ReadSize, end) - 1, reference.Length);
            using var response = await IsoResponses.GetRangeAsync(client, path, probe.Header);
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.PartialContent, $"{probe}: {(int)response.StatusCode}");
            Assert.Equal(-1, ReferencePatch.FirstDifference(body, reference.AsSpan((int)probe.Start, (int)probe.Length)));
            etags.Add(response.Headers.ETag?.ToString() ?? "");
        }

        return Assert.Single(etags);
    }

    private static async Task<string> AssertWholeVersion2Async(HttpClient client, string path, byte[] reference2)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        IsoResponses.AssertFramed(response);
        var etag = response.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.Equal(Version2Date, response.Content.Headers.LastModified);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), reference2));
        return etag.ToString();
    }

    // A whole-ISO GET that may legitimately fail while the upstream changes: 503 before any byte, or a body cut
    // short after the headers (the connection is aborted rather than finished with bytes of another version).
    private static async Task<(string? ETag, byte[]? Body)> TryGetWholeAsync(HttpClient client, string path, List<string> outcomes)
    {
        try
        {
            using var response = await client.GetAsync(path);
            var body = await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                outcomes.Add("503");
                return (null, null);
            }

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode}");
            outcomes.Add("200 " + response.Headers.ETag);
            return (response.Headers.ETag?.ToString(), body);
        }
        catch (HttpRequestException e)
        {
            outcomes.Add("cut short: " + e.Message);
            return (null, null);
        }
    }
}
