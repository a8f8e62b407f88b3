using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Upstream;

/// <summary>
/// A source ISO an operator names as a local file (a path or a <c>file://</c> URL) is served exactly as an HTTP
/// upstream is: same chunks, cache, patching (DESIGN invariant 1) and version pinning (invariant 3); a missing file
/// is a 502 naming the path (invariant 7); and a client's <c>?sourceISO=</c> can never name a file (invariant 6).
/// </summary>
[Collection(BootIsoDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class LocalFileSourceTests(BootIsoFixture fixture)
{
    private const int RandomRangesPerMac = 600;
    private const int Parallelism = 8;
    private const int VersionFoundEventId = 2100;
    private const int RequestRefusedEventId = 3001;

    // Longer than the 1 s revalidation interval and boot idle limit of the version test.
    private static readonly TimeSpan PastTheInterval = TimeSpan.FromMilliseconds(1500);

    // Only a guard against a gateway that never moves on.
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Get_UpstreamUrlIsPathAndHardwareNamesFileUrl_RangesEqualReferencePatch()
    {
        // Machine 2 reads through --iso-upstream-url (a plain path), machine 1 through its Hardware sourceISO (a
        // file:// URL of the same file): both spellings are one source ISO, probed once.
        var path = await PublishAsync(fixture.Image.Bytes);
        await using var gateway = await StartGatewayAsync(path, new Uri(path).AbsoluteUri);
        var image = fixture.Image;

        var problems = new List<string>();
        foreach (var (mac, seed) in new[] { (TestMachines.Mac1, 1), (TestMachines.Mac2, 2) })
        {
            var probes = RangeSampler.AroundEdges(image.Bytes.Length, image.Occurrences, image.Magic.Length, image.ChunkBoundaries)
                .Concat(RangeSampler.Random(new Random(seed), image.Bytes.Length, RandomRangesPerMac))
                .ToArray();
            new Random(seed).Shuffle(probes);
            var isoPath = GatewayInstance.IsoPath(mac);
            var reference = fixture.Reference(mac);
            problems.AddRange(await IsoResponses.CheckRangesAsync(gateway.Client, probes.Select(probe => (isoPath, probe, reference)), Parallelism));
        }

        Assert.True(problems.Count == 0, $"{problems.Count} ranges were wrong:{Environment.NewLine}{string.Join(Environment.NewLine, problems.Take(20))}");
        Assert.Single(gateway.Log.Lines, line => line.EventId.Id == VersionFoundEventId && line.Message.Contains(path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Get_UpstreamUrlIsRelativePath_ServesFileResolvedFromCurrentDirectory()
    {
        // DESIGN invariant 9: a relative path means the directory the command ran from. Machine 1 names the same file
        // by its absolute path, so both machines share one source ISO.
        var path = await PublishAsync(fixture.Image.Bytes);
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        Assert.False(Path.IsPathRooted(relative));
        await using var gateway = await StartGatewayAsync(relative, path);

        foreach (var mac in new[] { TestMachines.Mac2, TestMachines.Mac1 })
        {
            using var response = await gateway.Client.GetAsync(GatewayInstance.IsoPath(mac));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            IsoResponses.AssertFramed(response);
            Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(mac)));
        }

        Assert.Single(gateway.Log.Lines, line => line.EventId.Id == VersionFoundEventId && line.Message.Contains(path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Get_FileReplacedBetweenBoots_NextBootGetsNewETagAndWholeNewVersion()
    {
        // The new ISO is renamed over the old one with the same length and modification time (as cp -p or rsync -t
        // would publish it): only the inode tells the versions apart, and that must be enough.
        var path = await PublishAsync(fixture.Image.Bytes);
        var mtime = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, mtime);
        await using var gateway = await StartGatewayAsync(
            path, path, "--iso-revalidate-interval", "00:00:01", "--iso-boot-session-idle", "00:00:01");
        var isoPath = GatewayInstance.IsoPath(TestMachines.Mac2);
        var reference1 = fixture.Reference(TestMachines.Mac2);
        var variant = await fixture.VariantAsync();
        var reference2 = ReferencePatch.Apply(variant.Bytes, variant.Magic, TestMachines.KernelParams(TestMachines.Mac2));

        string etag1;
        using (var first = await gateway.Client.GetAsync(isoPath))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(-1, ReferencePatch.FirstDifference(await first.Content.ReadAsByteArrayAsync(), reference1));
            Assert.Equal(new DateTimeOffset(mtime), first.Content.Headers.LastModified);
            etag1 = first.Headers.ETag!.ToString();
        }

        var staged = path + ".new";
        await File.WriteAllBytesAsync(staged, variant.Bytes);
        File.SetLastWriteTimeUtc(staged, mtime);
        File.Move(staged, path, overwrite: true);

        var outcomes = new List<string>();
        var stopAt = DateTime.UtcNow + GiveUpAfter;
        while (true)
        {
            Assert.True(DateTime.UtcNow < stopAt, $"No new ETag after the file was replaced: {string.Join("; ", outcomes)}");
            await Task.Delay(PastTheInterval);
            using var response = await gateway.Client.GetAsync(isoPath);
            var body = await response.Content.ReadAsByteArrayAsync();
            outcomes.Add($"{(int)response.StatusCode} {response.Headers.ETag}");
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                continue;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var etag = response.Headers.ETag!.ToString();
            Assert.Equal(-1, ReferencePatch.FirstDifference(body, etag == etag1 ? reference1 : reference2));
            if (etag != etag1)
            {
                Assert.False(response.Headers.ETag.IsWeak);
                Assert.Equal(new DateTimeOffset(mtime), response.Content.Headers.LastModified);
                break;
            }
        }
    }

    [Fact]
    public async Task Get_FileMissing_Returns502AndLogsErrorNamingPath()
    {
        // DESIGN invariant 7: the operator learns the path from the log line; the client's reason names no server path.
        var path = Path.Combine(fixture.ScratchDirectory, $"missing-{Guid.NewGuid():N}.iso");
        await using var gateway = await StartGatewayAsync(path, path);

        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            using var response = await gateway.Client.GetAsync(GatewayInstance.IsoPath(mac));

            var reason = await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.BadGateway, "upstream");
            Assert.DoesNotContain(fixture.ScratchDirectory, reason, StringComparison.Ordinal);
            Assert.NotEmpty(gateway.Log.ErrorsContaining(mac, path, "no such file"));
        }
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("file:///etc/passwd")]
    [InlineData("file://localhost/etc/passwd")]
    [InlineData("../../../../../../../../etc/passwd")]
    [InlineData("{iso}")]
    [InlineData("file://{iso}")]
    public async Task Get_SourceIsoNamesFile_Returns403AndFileNeverRead(string sourceIso)
    {
        // The shared gateway has an --iso-source-allow list; no allowlist admits a file, and a refused source is never
        // opened: the file of the {iso} cases is a good ISO that would be served if it were read.
        var iso = await PublishAsync(fixture.Image.Bytes);
        var url = sourceIso.Replace("{iso}", iso, StringComparison.Ordinal);
        var mark = fixture.Gateway.Log.Mark();

        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            using var get = await fixture.Gateway.Client.GetAsync(GatewayInstance.IsoPath(mac, sourceIso: url));
            await IsoResponses.AssertOneLineErrorAsync(get, HttpStatusCode.Forbidden, "not allowed");
            using var head = await IsoResponses.SendAsync(fixture.Gateway.Client, HttpMethod.Head, GatewayInstance.IsoPath(mac, sourceIso: url));
            Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        }

        // A read would have probed the file (event 2100) or failed on it (2000): the only lines naming it are refusals.
        var name = sourceIso.Contains("{iso}", StringComparison.Ordinal) ? Path.GetFileName(iso) : "passwd";
        var naming = fixture.Gateway.Log.LinesSince(mark).Where(line => line.Message.Contains(name, StringComparison.Ordinal)).ToList();
        Assert.Equal(4, naming.Count);
        Assert.All(naming, line => Assert.Equal(RequestRefusedEventId, line.EventId.Id));
    }

    // Copies the ISO into a file of its own in the scratch directory, so no other test reads or replaces it.
    private async Task<string> PublishAsync(byte[] bytes)
    {
        var path = Path.Combine(fixture.ScratchDirectory, $"local-{Guid.NewGuid():N}.iso");
        await File.WriteAllBytesAsync(path, bytes);
        return path;
    }

    // Like BootIsoFixture.StartGatewayAsync, with a local file in place of the upstream server: machine 2 reads
    // through --iso-upstream-url, machine 1 through its Hardware sourceISO.
    private async Task<GatewayInstance> StartGatewayAsync(string upstreamUrl, string mac1SourceIso, params string[] extraArgs)
    {
        var hardwareFile = Path.Combine(fixture.ScratchDirectory, $"hardware-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(hardwareFile, TestMachines.HardwareYaml(mac1SourceIso));
        return await GatewayInstance.StartAsync(
        [
            "--hardware-file", hardwareFile,
            "--iso-upstream-url", upstreamUrl,
            "--chunk-size", "1MiB",
            .. TestMachines.BootFlags,
            .. extraArgs,
        ]);
    }
}
