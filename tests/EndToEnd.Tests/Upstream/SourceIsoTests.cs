using System.Globalization;
using System.Net;
using IsoCluster.TestSupport;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Upstream;

/// <summary>
/// Which upstream is fetched, and what happens when it misbehaves. DESIGN invariant 6: only operator-configured
/// upstreams are ever fetched, so a client's <c>?sourceISO=</c> outside the allowlist never reaches any server.
/// Invariant 7: upstream trouble is a clear 502 and an Error log naming MAC, upstream and cause.
/// </summary>
[Collection(BootIsoDefinition.Name)]
public sealed class SourceIsoTests(BootIsoFixture fixture)
{
    private HttpClient Client => fixture.Gateway.Client;

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/iam/security-credentials/")]
    [InlineData("{upstream}files-private/{name}")]
    [InlineData("{upstream}files")]
    [InlineData("http://127.0.0.1.evil.example:{port}/files/{name}")]
    [InlineData("http://localhost:{port}/files/{name}")]
    [InlineData("https://127.0.0.1:{port}/files/{name}")]
    [InlineData("http://user:secret@127.0.0.1:{port}/files/{name}")]
    [InlineData("{upstream}files/../files-private/{name}")]
    [InlineData("{upstream}files/..%2Ffiles-private/{name}")]
    [InlineData("file:///etc/passwd")]
    [InlineData("not a url")]
    public async Task Get_SourceIsoOutsideAllowlist_Returns403AndUpstreamSeesNoRequest(string sourceIso)
    {
        // The allowlist is "<upstream>/files/" (and three other test routes); look-alikes by prefix, host suffix,
        // host spelling, scheme, credentials or path traversal must all be refused before anything is fetched. The
        // file has a name of its own (and exists upstream, so a wrongful fetch would succeed) so that any request
        // this test causes is recognisable even if an earlier test's chunk prefetch for hook.iso lands meanwhile.
        var name = $"forbidden-{Guid.NewGuid():N}.iso";
        fixture.Upstream.SetFile(name, fixture.Image.Bytes);
        var url = Expand(sourceIso).Replace("{name}", name, StringComparison.Ordinal);
        fixture.Upstream.ClearRequests();

        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            using var get = await Client.GetAsync(GatewayInstance.IsoPath(mac, sourceIso: url));
            await IsoResponses.AssertOneLineErrorAsync(get, HttpStatusCode.Forbidden, "not allowed");
            using var head = await IsoResponses.SendAsync(Client, HttpMethod.Head, GatewayInstance.IsoPath(mac, sourceIso: url));
            Assert.Equal(HttpStatusCode.Forbidden, head.StatusCode);
        }

        Assert.DoesNotContain(fixture.Upstream.Requests, r => r.Path.Contains(name, StringComparison.Ordinal) || !r.Path.StartsWith("/files/", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://isocluster:S3cr3tT0ken@127.0.0.1:{port}/files/hook.iso", HttpStatusCode.Forbidden)]
    [InlineData("{upstream}files-private/x.iso?X-Amz-Signature=S3cr3tT0ken", HttpStatusCode.Forbidden)]
    [InlineData("{upstream}status/500/hook.iso?X-Amz-Signature=S3cr3tT0ken", HttpStatusCode.BadGateway)]
    [InlineData("{upstream}redirect/11/hook.iso?X-Amz-Signature=S3cr3tT0ken", HttpStatusCode.BadGateway)]
    public async Task Get_SourceIsoCarryingCredentials_NeitherEchoedNorLogged(string sourceIso, HttpStatusCode status)
    {
        // Presigned URLs carry credentials in the query, and URLs may carry user information: reasons and logs show
        // URLs without either, so a refused or failed request does not copy a secret into logs or error pages.
        const string secret = "S3cr3tT0ken";
        var url = Expand(sourceIso);
        var mark = fixture.Gateway.Log.Mark();

        using var response = await Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: url));

        var reason = await IsoResponses.AssertOneLineErrorAsync(response, status);
        Assert.DoesNotContain(secret, reason, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Gateway.Log.LinesSince(mark), line => line.Message.Contains(secret, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(TestMachines.Macs), MemberType = typeof(TestMachines))]
    public async Task Get_AllowlistedSourceIso_ServesThatIsoPatched(string mac)
    {
        // Precedence 1: the query parameter wins over the Hardware's sourceISO (machine 1) and the default (machine
        // 2). The other ISO has different bytes, so the body shows which source was read.
        var other = await fixture.VariantAsync();
        fixture.Upstream.SetFile("other.iso", other.Bytes);
        var reference = ReferencePatch.Apply(other.Bytes, other.Magic, TestMachines.KernelParams(mac));

        using var response = await Client.GetAsync(GatewayInstance.IsoPath(mac, sourceIso: fixture.Upstream.Url("other.iso")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), reference));
    }

    [Fact]
    public async Task Get_SourceIsoBehindTenRedirects_FollowsThemAndServesReferenceBytes()
    {
        // The issue: redirects are followed by the server, at most 10, and the BMC never sees a 3xx; every hop here
        // is inside the allowlist (redirect/ then files/), so each re-validation passes.
        var url = fixture.Upstream.Url(BootIsoFixture.IsoName, "redirect/10");
        fixture.Upstream.ClearRequests();

        using var response = await Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac2, sourceIso: url));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(TestMachines.Mac2)));
        var hops = fixture.Upstream.Requests.Where(r => r.Path.StartsWith("/redirect/", StringComparison.Ordinal)).Select(r => r.Path).ToHashSet();
        Assert.Equal(10, hops.Count);
    }

    [Fact]
    public async Task Get_SourceIsoBehindElevenRedirects_Returns502NamingRedirectsAndLogsError()
    {
        var url = fixture.Upstream.Url(BootIsoFixture.IsoName, "redirect/11");

        using var response = await Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: url));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.BadGateway, "redirects");
        Assert.NotEmpty(fixture.Gateway.Log.ErrorsContaining(TestMachines.Mac1, url));
    }

    [Fact]
    public async Task Get_AllowlistedSourceIsoRedirectingOutsideAllowlist_Returns502AndTargetNeverFetched()
    {
        // The issue: every redirect hop of a client-supplied source is checked against the allowlist again, so an
        // allowlisted server cannot bounce the cluster to a URL the client could not have named itself. Here only
        // redirect/ is allowlisted, and the chain ends on files/.
        fixture.Upstream.SetFile("bounce.iso", fixture.Image.Bytes);
        await using var gateway = await fixture.StartGatewayAsync(BootIsoFixture.IsoName, "--iso-source-allow", fixture.Upstream.Url("", "redirect"));
        var url = fixture.Upstream.Url("bounce.iso", "redirect/2");
        fixture.Upstream.ClearRequests();

        using var response = await gateway.Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: url));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.BadGateway, "--iso-source-allow");
        Assert.Contains(fixture.Upstream.Requests, r => r.Path == "/redirect/1/bounce.iso");
        Assert.DoesNotContain(fixture.Upstream.Requests, r => r.Path == "/files/bounce.iso");
        Assert.NotEmpty(gateway.Log.ErrorsContaining(TestMachines.Mac1, url));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(404)]
    [InlineData(403)]
    public async Task Get_UpstreamAnswersError_Returns502AndLogsMacUrlAndStatus(int status)
    {
        var url = fixture.Upstream.Url(BootIsoFixture.IsoName, $"status/{status}");

        using var response = await Client.GetAsync(GatewayInstance.IsoPath(TestMachines.Mac2, sourceIso: url));

        // The reason says the upstream failed; which way (its status) is the log line's, with the MAC and the URL.
        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.BadGateway, "upstream");
        Assert.True(
            fixture.Gateway.Log.ErrorsContaining(TestMachines.Mac2, url, status.ToString(CultureInfo.InvariantCulture)).Count > 0,
            $"No Error log naming {TestMachines.Mac2} and {url}:{Environment.NewLine}{fixture.Gateway.Log.Describe()}");
    }

    [Fact]
    public async Task Get_UpstreamWithoutRangeSupport_ServesReferenceBytesAndLogsOnce()
    {
        // The issue: an upstream answering a Range request with 200 is handled (the window is cut out of the whole
        // body), not served as if it were the chunk; and the operator is told once, not per chunk.
        var url = fixture.Upstream.Url(BootIsoFixture.IsoName, "norange");
        var image = fixture.Image;
        var reference = fixture.Reference(TestMachines.Mac1);
        var path = GatewayInstance.IsoPath(TestMachines.Mac1, sourceIso: url);
        var probes = RangeSampler.AroundEdges(image.Bytes.Length, image.Occurrences, image.Magic.Length, image.ChunkBoundaries);

        var problems = await IsoResponses.CheckRangesAsync(Client, probes.Select(probe => (path, probe, reference)), parallelism: 4);
        using var full = await Client.GetAsync(path);

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems.Take(20)));
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await full.Content.ReadAsByteArrayAsync(), reference));
        Assert.Single(fixture.Gateway.Log.Lines, line => line.Level == Microsoft.Extensions.Logging.LogLevel.Warning && line.Message.Contains(url, StringComparison.Ordinal) && line.Message.Contains("range", StringComparison.OrdinalIgnoreCase));
    }

    private string Expand(string template) => template
        .Replace("{upstream}", fixture.Upstream.BaseAddress.ToString(), StringComparison.Ordinal)
        .Replace("{port}", fixture.Upstream.BaseAddress.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
}
