using System.Net;
using IsoCluster.TestSupport;
using IsoCluster.EndToEnd.Tests.Harness;
using Microsoft.Net.Http.Headers;

namespace IsoCluster.EndToEnd.Tests.Ranges;

/// <summary>
/// Conditional requests (RFC 9110 §13): a client resuming or re-reading ranges with <c>If-Range</c> must never splice
/// bytes of another version or machine into what it holds, and a cache revalidating with <c>If-None-Match</c> gets 304.
/// </summary>
[Collection(BootIsoDefinition.Name)]
public sealed class ConditionalRequestTests(BootIsoFixture fixture)
{
    private const string Mac = TestMachines.Mac1;
    private const string Range = "bytes=2096000-2098999";

    private HttpClient Client => fixture.Gateway.Client;

    [Fact]
    public async Task Get_IfRangeWithCurrentETag_Returns206()
    {
        // RFC 9110 §13.1.5: a strong entity-tag that matches the current one: the range is served.
        var (etag, _) = await ValidatorsAsync(Mac);

        using var response = await GetAsync(Mac, ("Range", Range), ("If-Range", etag));

        await AssertPartialAsync(response);
    }

    [Fact]
    public async Task Get_IfRangeWithStaleETag_Returns200Full()
    {
        // RFC 9110 §13.1.5: the client's bytes are of another version, so it gets the whole current representation.
        using var response = await GetAsync(Mac, ("Range", Range), ("If-Range", "\"0123456789abcdef-000000000000\""));

        await AssertFullAsync(response, Mac);
    }

    [Fact]
    public async Task Get_IfRangeWithWeakETag_Returns200Full()
    {
        // RFC 9110 §13.1.5: If-Range requires strong comparison, and a weak tag never matches strongly (§8.8.3.2).
        var (etag, _) = await ValidatorsAsync(Mac);

        using var response = await GetAsync(Mac, ("Range", Range), ("If-Range", "W/" + etag));

        await AssertFullAsync(response, Mac);
    }

    [Fact]
    public async Task Get_IfRangeWithOtherMachinesETag_Returns200Full()
    {
        // DESIGN invariant 3: the ETag is per machine. Machine 2's tag on machine 1's URL names other bytes.
        var (otherEtag, _) = await ValidatorsAsync(TestMachines.Mac2);

        using var response = await GetAsync(Mac, ("Range", Range), ("If-Range", otherEtag));

        await AssertFullAsync(response, Mac);
    }

    [Fact]
    public async Task Get_IfRangeWithLastModifiedDate_Returns206()
    {
        // RFC 9110 §13.1.5: an HTTP-date equal to Last-Modified matches.
        var (_, lastModified) = await ValidatorsAsync(Mac);

        using var response = await GetAsync(Mac, ("Range", Range), ("If-Range", lastModified));

        await AssertPartialAsync(response);
    }

    [Fact]
    public async Task Get_IfRangeWithOtherDate_Returns200Full()
    {
        // RFC 9110 §13.1.5: a date that is not exactly Last-Modified does not match.
        var (_, lastModified) = await ValidatorsAsync(Mac);
        var earlier = HeaderUtilities.FormatDate(DateTimeOffset.Parse(lastModified, System.Globalization.CultureInfo.InvariantCulture).AddDays(-1));

        using var response = await GetAsync(Mac, ("Range", Range), ("If-Range", earlier));

        await AssertFullAsync(response, Mac);
    }

    [Theory]
    [InlineData("GET", "{etag}")]
    [InlineData("GET", "W/{etag}")]
    [InlineData("GET", "\"other\", {etag}")]
    [InlineData("GET", "*")]
    [InlineData("HEAD", "{etag}")]
    public async Task Request_IfNoneMatchCurrentETag_Returns304WithoutBody(string method, string ifNoneMatch)
    {
        // RFC 9110 §13.1.2: If-None-Match uses weak comparison, and "*" matches any current representation;
        // §15.4.5: 304 has no content and still carries the ETag a 200 would have.
        var (etag, _) = await ValidatorsAsync(Mac);

        using var response = await IsoResponses.SendAsync(
            Client, new HttpMethod(method), GatewayInstance.IsoPath(Mac), ("If-None-Match", ifNoneMatch.Replace("{etag}", etag, StringComparison.Ordinal)));

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(etag, response.Headers.ETag?.ToString());
    }

    [Theory]
    [InlineData("\"0123456789abcdef-000000000000\"")]
    [InlineData("{other}")]
    public async Task Get_IfNoneMatchOtherETag_Returns200Full(string ifNoneMatch)
    {
        // RFC 9110 §13.1.2: no listed tag matches, so the full representation is sent; another machine's tag is
        // another representation (DESIGN invariant 3).
        var (otherEtag, _) = await ValidatorsAsync(TestMachines.Mac2);

        using var response = await GetAsync(Mac, ("If-None-Match", ifNoneMatch.Replace("{other}", otherEtag, StringComparison.Ordinal)));

        await AssertFullAsync(response, Mac);
    }

    [Fact]
    public async Task Get_IfMatchOtherETag_Returns412()
    {
        // RFC 9110 §13.1.1: If-Match with no strongly matching tag fails the request (§15.5.13).
        using var response = await GetAsync(Mac, ("Range", Range), ("If-Match", "\"0123456789abcdef-000000000000\""));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task Get_IfMatchCurrentETag_Returns206()
    {
        // RFC 9110 §13.1.1: a strongly matching tag lets the request proceed, Range included.
        var (etag, _) = await ValidatorsAsync(Mac);

        using var response = await GetAsync(Mac, ("Range", Range), ("If-Match", etag));

        await AssertPartialAsync(response);
    }

    private Task<HttpResponseMessage> GetAsync(string mac, params (string, string)[] headers) =>
        IsoResponses.SendAsync(Client, HttpMethod.Get, GatewayInstance.IsoPath(mac), headers);

    private async Task<(string ETag, string LastModified)> ValidatorsAsync(string mac)
    {
        using var response = await IsoResponses.SendAsync(Client, HttpMethod.Head, GatewayInstance.IsoPath(mac));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var etag = response.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.True(response.Content.Headers.TryGetValues("Last-Modified", out var lastModified));
        return (etag.ToString(), lastModified.Single());
    }

    private async Task AssertPartialAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Equal($"bytes 2096000-2098999/{fixture.Image.Bytes.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(Mac).AsSpan(2096000, 3000)));
    }

    private async Task AssertFullAsync(HttpResponseMessage response, string mac)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Null(response.Content.Headers.ContentRange);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(mac)));
    }
}
