using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>
/// DESIGN invariant 3 against upstreams that do not play along: the file is replaced mid-boot, and the upstream may
/// ignore the conditional headers, send no ETag, or no validator at all. Every chunk answer is checked against the
/// pinned version by each validator it carries, so the boot never gets a byte of the new file under the old version:
/// the read that needs an uncached chunk fails (503, "changed"), and the next boot is the new version, whole.
/// </summary>
[Collection(FaultsDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class VersionChangeFaultTests(FaultsFixture fixture, ITestOutputHelper output)
{
    private const int ReadSize = 300_000;
    private const int Chunk = BootIsoImage.ChunkSize;

    private static readonly DateTimeOffset Version2Date = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(OriginValidators.ETagAndLastModified, true)]
    [InlineData(OriginValidators.ETagAndLastModified, false)]
    [InlineData(OriginValidators.LastModifiedOnly, true)]
    [InlineData(OriginValidators.LastModifiedOnly, false)]
    public async Task Get_UpstreamReplacedMidBoot_NoWrongOrMixedBytesAndNextBootIsNewVersionWhole(OriginValidators validators, bool honoursPreconditions)
    {
        // LastModifiedOnly without preconditions is the case: 84 of 200 reads carried the new file under the old
        // version's ETag. Same length, same layout: only Last-Modified tells the versions apart.
        var variant = await fixture.VariantAsync();
        await RunAsync($"{validators}-{honoursPreconditions}", validators, honoursPreconditions, variant.Bytes, validators);
    }

    [Fact]
    public async Task Get_UpstreamWithoutValidatorsGrows_NewLengthEndsTheBoot()
    {
        // With no validator at all, the length is the only one; a same-length replacement cannot be told from the
        // original by anyone, but a longer file can.
        var longer = fixture.Image.Bytes.Concat(IsoImageBuilder.Filler(Chunk + 17, seed: 77)).ToArray();
        await RunAsync("no-validators-longer", OriginValidators.None, honourPreconditions: false, longer, OriginValidators.None);
    }

    [Fact]
    public async Task Get_UpstreamShrinksBelowTheChunksStillToRead_416EndsTheBoot()
    {
        // The rest of the boot lies past the new end: the origin answers 416 (bytes */new length), a version change.
        var shorter = fixture.Image.Bytes.AsSpan(0, (4 * Chunk) + 10).ToArray();
        await RunAsync("shrunk", OriginValidators.ETagAndLastModified, honourPreconditions: false, shorter, OriginValidators.ETagAndLastModified);
    }

    private async Task RunAsync(string what, OriginValidators validators, bool honourPreconditions, byte[] version2, OriginValidators version2Validators)
    {
        var name = fixture.PublishBootIso(what, validators, honourPreconditions);
        var reference2 = fixture.Patched(version2);
        var client = fixture.Gateway.CreateClient();
        var path = fixture.PathOf(name);
        var reader = new BootReader(client, path, fixture.Reference, reference2);

        // Chunks 0 to 2 are read (and 3 fetched ahead); then the upstream replaces the file.
        await reader.ReadSpanAsync(0, 3L * Chunk, ReadSize);
        Assert.True(reader.Statuses.Keys.SequenceEqual([206]), reader.Describe());
        fixture.Origin.Publish(name, version2, Version2Date, version2Validators, honourPreconditions);

        // The boot reads on to its end; past the cached chunks it can only fail. Then, as a BMC retries, it reads the
        // same span again: a new boot, on version 2.
        var end = Math.Min(fixture.Reference.Length, reference2.Length);
        await reader.ReadSpanAsync(3L * Chunk, end, ReadSize);
        var failed = reader.Reads.Count(r => r.Status != 206);
        await reader.ReadSpanAsync(3L * Chunk, end, ReadSize);
        output.WriteLine($"FAULT-TABLE | replaced mid-boot: {what} | {reader.StatusSummary} | wrong bytes {reader.WrongBytes} | mixed {reader.MixedVersions}");

        Assert.Equal(0, reader.WrongBytes);
        Assert.Equal(0, reader.MixedVersions);
        var reads = reader.Reads.ToList();
        var ended = reads.FindIndex(r => r.Status != 206);
        Assert.True(ended >= 0 && (reads[ended].Status == 0 || (reads[ended].Status == 503 && reads[ended].Detail.Contains("changed", StringComparison.Ordinal))), reader.Describe());
        Assert.True(failed == 1, reader.Describe());
        Assert.All(reads.Take(ended), r => Assert.True(r.Is(0), r.ToString()));
        Assert.All(reads.Skip(ended + 1), r => Assert.True(r.Status == 206 && r.Is(1), r.ToString()));
        Assert.Contains(reads.Skip(ended + 1), r => r.IsOnly(1));

        // The next boot is all of version 2 (a new strong ETag), byte for byte.
        using var whole = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.NotEqual(reader.Reads[0].ETag, whole.Headers.ETag?.ToString());
        Assert.Equal(-1, ReferencePatch.FirstDifference(await whole.Content.ReadAsByteArrayAsync(), reference2));
    }
}
