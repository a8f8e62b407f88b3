using System.Globalization;
using System.Net;
using IsoCluster.TestSupport;
using IsoCluster.EndToEnd.Tests.Harness;
using Microsoft.AspNetCore.WebUtilities;

namespace IsoCluster.EndToEnd.Tests.Ranges;

/// <summary>
/// RFC 9110 range semantics as BMC HTTPFS clients, QEMU's curl driver and nbdkit rely on them: HEAD, 206 framing,
/// 416, multipart/byteranges, the range cap, and the validators that make ranges of one version safe to combine.
/// </summary>
[Collection(BootIsoDefinition.Name)]
public sealed class RangeSemanticsTests(BootIsoFixture fixture)
{
    private const string Mac = TestMachines.Mac1;

    private long Length => fixture.Image.Bytes.Length;

    private HttpClient Client => fixture.Gateway.Client;

    public static TheoryData<string> HeadRanges => new()
    {
        "",
        "bytes=0-99",
        "bytes=2096000-2098000",
        "bytes=-4096",
        "bytes=0-9,1048576-1048600",
        "bytes=99999999-",
        "bytes=9-5",
    };

    [Theory]
    [MemberData(nameof(HeadRanges))]
    public async Task Head_AnyRange_ReturnsExactlyTheHeadersOfGetWithoutBody(string range)
    {
        // RFC 9110 §9.3.2: HEAD is GET without content; the server SHOULD send the same header fields. QEMU sizes a
        // disk from HEAD and refuses one without Accept-Ranges.
        (string, string)[] headers = range.Length == 0 ? [] : [("Range", range)];
        using var get = await IsoResponses.SendAsync(Client, HttpMethod.Get, GatewayInstance.IsoPath(Mac), headers);
        using var head = await IsoResponses.SendAsync(Client, HttpMethod.Head, GatewayInstance.IsoPath(Mac), headers);

        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(ComparableHeaders(get), ComparableHeaders(head));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.NotNull(head.Content.Headers.ContentLength);
        Assert.Equal((await get.Content.ReadAsByteArrayAsync()).Length, head.Content.Headers.ContentLength);
    }

    [Theory]
    [InlineData("bytes={len}-")]
    [InlineData("bytes={len}-{len}")]
    [InlineData("bytes=99999999-99999999")]
    [InlineData("bytes=-0")]
    [InlineData("bytes={len}-, 99999999-")]
    [InlineData("bytes=99999999999999999999-")] // past long.MaxValue: past any end
    public async Task Get_NoSatisfiableRange_Returns416WithUnsatisfiedContentRange(string range)
    {
        // RFC 9110 §14.1.1: first-pos at or past the length is unsatisfiable, as is a zero suffix; §15.5.17: 416
        // SHOULD carry Content-Range "bytes */length" (§14.4), which HTTPFS clients use to learn the size.
        using var response = await IsoResponses.GetRangeAsync(Client, GatewayInstance.IsoPath(Mac), range.Replace("{len}", Length.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.RequestedRangeNotSatisfiable);
        Assert.Equal($"bytes */{Length}", response.Content.Headers.ContentRange?.ToString());
    }

    [Theory]
    [InlineData("bytes=9-5")]
    [InlineData("bytes=")]
    [InlineData("bytes=abc-def")]
    [InlineData("items=0-99")]
    public async Task Get_InvalidRangeHeader_IgnoredWith200Full(string range)
    {
        // RFC 9110 §14.2: a server MAY ignore a Range field it cannot parse, or in an unknown unit, and send 200.
        using var response = await IsoResponses.GetRangeAsync(Client, GatewayInstance.IsoPath(Mac), range);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(Mac)));
    }

    [Theory]
    [InlineData("bytes=0-99999999999999999999", 0)]
    [InlineData("bytes=1048576-99999999999999999999", 1048576)]
    [InlineData("bytes=-99999999999999999999", 0)]
    public async Task Get_LastPosOrSuffixPastLongMaxValue_Returns206ToTheEnd(string range, long first)
    {
        // RFC 9110 §14.1.2: a last-pos at or past the end, or a suffix longer than the representation, however many
        // digits it has, means "to the end": 206 of the remainder, not an ignored field.
        using var response = await IsoResponses.GetRangeAsync(Client, GatewayInstance.IsoPath(Mac), range);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Equal($"bytes {first}-{Length - 1}/{Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(Mac).AsSpan((int)first)));
    }

    [Fact]
    public async Task Get_MultipleRanges_ReturnsMultipartByteRangesAscendingAndCoalesced()
    {
        // RFC 9110 §14.6 and §15.3.7.2: each part carries Content-Type and Content-Range; a server MAY coalesce
        // overlapping ranges and send parts in any order. This gateway sends them ascending, merged.
        var straddling = fixture.Image.Occurrences[1];
        var range = $"bytes=5000000-5000099, 0-99, {straddling - 10}-{straddling + 1100}, 200-299, 250-400, -64";
        (long Start, long End)[] expected =
        [
            (0, 99),
            (200, 400),
            (straddling - 10, straddling + 1100),
            (5000000, 5000099),
            (Length - 64, Length - 1),
        ];
        using var full = await IsoResponses.SendAsync(Client, HttpMethod.Head, GatewayInstance.IsoPath(Mac));

        using var response = await IsoResponses.GetRangeAsync(Client, GatewayInstance.IsoPath(Mac), range);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.Null(response.Content.Headers.ContentRange);
        var contentType = response.Content.Headers.ContentType!;
        Assert.Equal("multipart/byteranges", contentType.MediaType);
        var boundary = contentType.Parameters.Single(p => p.Name == "boundary").Value!.Trim('"');

        var parts = await ReadPartsAsync(boundary, body);
        Assert.Equal(expected.Length, parts.Count);
        var reference = fixture.Reference(Mac);
        for (var i = 0; i < expected.Length; i++)
        {
            var (start, end) = expected[i];
            Assert.Equal(full.Content.Headers.ContentType?.ToString(), parts[i].ContentType);
            Assert.Equal($"bytes {start}-{end}/{Length}", parts[i].ContentRange);
            Assert.Equal(-1, ReferencePatch.FirstDifference(parts[i].Body, reference.AsSpan((int)start, (int)(end - start + 1))));
        }
    }

    [Fact]
    public async Task Get_OverlappingRangesThatMergeIntoOne_ReturnsSingle206()
    {
        // RFC 9110 §15.3.7.2 allows coalescing; a set that merges into one range is sent as a plain 206.
        using var response = await IsoResponses.GetRangeAsync(Client, GatewayInstance.IsoPath(Mac), "bytes=1048000-1048100, 1048050-1048700");

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes 1048000-1048700/{Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(Mac).AsSpan(1048000, 701)));
    }

    [Fact]
    public async Task Get_RangesUpToTheCap_Returns206Multipart()
    {
        // --max-ranges 16 on the fixture's gateway: exactly 16 disjoint ranges are still served as ranges.
        using var response = await IsoResponses.GetRangeAsync(Client, GatewayInstance.IsoPath(Mac), DisjointRanges(16));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("multipart/byteranges", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Get_MoreRangesThanTheCap_Returns200Full()
    {
        // RFC 9110 §14.2 lets a server ignore Range, and §17.15 warns that many small ranges are a denial-of-service
        // vector: past the cap the whole ISO is sent.
        using var response = await IsoResponses.GetRangeAsync(Client, GatewayInstance.IsoPath(Mac), DisjointRanges(17));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Equal(-1, ReferencePatch.FirstDifference(await response.Content.ReadAsByteArrayAsync(), fixture.Reference(Mac)));
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("GET", "bytes=0-0")]
    [InlineData("GET", "bytes=1048000-")]
    [InlineData("GET", "bytes=0-0,-1")]
    [InlineData("HEAD", "")]
    [InlineData("HEAD", "bytes=100-200")]
    public async Task Request_Success_HasContentLengthAcceptRangesAndNoChunkedCoding(string method, string range)
    {
        // RFC 9110 §8.6 (Content-Length), §14.3 (Accept-Ranges); httpfs2 fails every read when a 206 lacks
        // Accept-Ranges, and HTTPFS clients read exactly Content-Length bytes, never a chunked body.
        (string, string)[] headers = range.Length == 0 ? [] : [("Range", range)];
        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            using var response = await IsoResponses.SendAsync(Client, new HttpMethod(method), GatewayInstance.IsoPath(mac), headers);

            Assert.True(response.IsSuccessStatusCode, $"{method} {range}: {(int)response.StatusCode}");
            IsoResponses.AssertFramed(response);
            Assert.Equal("bytes", Assert.Single(response.Headers.AcceptRanges));
        }
    }

    [Fact]
    public async Task Get_TwoMacs_StrongETagsThatDifferPerMacAndStayStable()
    {
        // RFC 9110 §8.8.3: a strong ETag promises byte-identical content, so it must differ between machines whose
        // patches differ (DESIGN invariant 3) and must not change between requests for the same version.
        var etag1 = await ETagAsync(TestMachines.Mac1);
        var etag2 = await ETagAsync(TestMachines.Mac2);

        Assert.False(etag1.IsWeak);
        Assert.False(etag2.IsWeak);
        Assert.NotEqual(etag1.Tag, etag2.Tag);
        Assert.Equal(etag1.Tag, (await ETagAsync(TestMachines.Mac1)).Tag);
        Assert.Equal(etag2.Tag, (await ETagAsync(TestMachines.Mac2)).Tag);
    }

    [Fact]
    public async Task Get_Iso_LastModifiedIsTheUpstreams()
    {
        // The ISO's Last-Modified comes from the upstream (the issue), so If-Range with a date works across gateways.
        using var upstream = await IsoResponses.GetRangeAsync(Client, fixture.IsoUrl, "bytes=0-0");
        using var response = await IsoResponses.SendAsync(Client, HttpMethod.Head, GatewayInstance.IsoPath(Mac));

        Assert.NotNull(upstream.Content.Headers.LastModified);
        Assert.Equal(upstream.Content.Headers.LastModified, response.Content.Headers.LastModified);
    }

    private async Task<System.Net.Http.Headers.EntityTagHeaderValue> ETagAsync(string mac)
    {
        using var response = await IsoResponses.SendAsync(Client, HttpMethod.Head, GatewayInstance.IsoPath(mac));
        return response.Headers.ETag ?? throw new Xunit.Sdk.XunitException($"No ETag for {mac}");
    }

    // Gaps between the ranges keep them from being coalesced, so the count is what the cap sees.
    private static string DisjointRanges(int count) =>
        "bytes=" + string.Join(",", Enumerable.Range(0, count).Select(i => $"{i * 1000}-{(i * 1000) + 9}"));

    private static SortedDictionary<string, string> ComparableHeaders(HttpResponseMessage response)
    {
        var headers = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            // Date differs by the clock; a multipart boundary is random per response (RFC 2046 §5.1.1).
            if (name.Equals("Date", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = string.Join(", ", values);
            headers[name] = value.StartsWith("multipart/byteranges", StringComparison.Ordinal) ? "multipart/byteranges; boundary=*" : value;
        }

        return headers;
    }

    private static async Task<List<(string? ContentType, string? ContentRange, byte[] Body)>> ReadPartsAsync(string boundary, byte[] body)
    {
        var parts = new List<(string?, string?, byte[])>();
        var reader = new MultipartReader(boundary, new MemoryStream(body));
        while (await reader.ReadNextSectionAsync() is { } section)
        {
            using var content = new MemoryStream();
            await section.Body.CopyToAsync(content);
            section.Headers!.TryGetValue("Content-Range", out var contentRange);
            parts.Add((section.ContentType, contentRange.ToString(), content.ToArray()));
        }

        return parts;
    }
}
