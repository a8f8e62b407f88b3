using System.Net;
using System.Text;

namespace IsoCluster.EndToEnd.Tests.Harness;

/// <summary>Sends ISO requests and checks what every response must satisfy.</summary>
public static class IsoResponses
{
    /// <summary>Sends <paramref name="method"/> to <paramref name="path"/> with optional raw header fields (unvalidated, as a BMC may send them).</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                throw new ArgumentException($"'{name}' cannot be sent as a request header.", nameof(headers));
            }
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
    }

    /// <summary>GETs <paramref name="path"/> with a <c>Range</c> header.</summary>
    public static Task<HttpResponseMessage> GetRangeAsync(HttpClient client, string path, string range) =>
        SendAsync(client, HttpMethod.Get, path, ("Range", range));

    /// <summary>
    /// Checks one range request against the reference: 206, the exact <c>Content-Range</c> (RFC 9110 §14.4), framing
    /// as for every success, and byte-for-byte equal content. Returns a description of the first problem, or null.
    /// </summary>
    public static async Task<string?> CheckRangeAsync(HttpClient client, string path, RangeProbe probe, byte[] reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        using var response = await GetRangeAsync(client, path, probe.Header);
        var body = await response.Content.ReadAsByteArrayAsync();
        var what = $"{path} {probe.Header}";
        if (response.StatusCode != HttpStatusCode.PartialContent)
        {
            return $"{what}: {(int)response.StatusCode} instead of 206: {Describe(body)}";
        }

        var contentRange = response.Content.Headers.ContentRange?.ToString();
        if (contentRange != probe.ContentRange(reference.Length))
        {
            return $"{what}: Content-Range '{contentRange}' instead of '{probe.ContentRange(reference.Length)}'";
        }

        if (FramingProblem(response) is { } framing)
        {
            return $"{what}: {framing}";
        }

        if (response.Content.Headers.ContentLength != probe.Length || body.Length != probe.Length)
        {
            return $"{what}: Content-Length {response.Content.Headers.ContentLength} and {body.Length} body bytes instead of {probe.Length}";
        }

        var difference = ReferencePatch.FirstDifference(body, reference.AsSpan((int)probe.Start, (int)probe.Length));
        return difference < 0 ? null : $"{what}: differs from the reference first at ISO offset {probe.Start + difference}";
    }

    /// <summary>
    /// Runs <paramref name="checks"/> with <paramref name="parallelism"/> requests in flight and returns every
    /// problem found, so a failure lists all broken ranges instead of the first one.
    /// </summary>
    public static async Task<IReadOnlyList<string>> CheckRangesAsync(
        HttpClient client, IEnumerable<(string Path, RangeProbe Probe, byte[] Reference)> checks, int parallelism = 8)
    {
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await Parallel.ForEachAsync(
            checks,
            new ParallelOptions { MaxDegreeOfParallelism = parallelism },
            async (check, _) =>
            {
                if (await CheckRangeAsync(client, check.Path, check.Probe, check.Reference) is { } problem)
                {
                    problems.Enqueue(problem);
                }
            });
        return [.. problems];
    }

    /// <summary>
    /// What RFC 9110 and the BMC clients need of every successful response: an exact <c>Content-Length</c> (§8.6), no
    /// chunked transfer coding (HTTPFS clients read by length), and <c>Accept-Ranges: bytes</c> (§14.3) on 200 and
    /// 206 alike. Returns the first problem, or null.
    /// </summary>
    public static string? FramingProblem(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Content.Headers.ContentLength is null)
        {
            return "no Content-Length";
        }

        if (response.Headers.TransferEncodingChunked == true)
        {
            return "Transfer-Encoding: chunked";
        }

        return response.Headers.AcceptRanges.Contains("bytes") ? null : $"Accept-Ranges '{response.Headers.AcceptRanges}' instead of 'bytes'";
    }

    /// <summary>Asserts <see cref="FramingProblem"/> finds nothing.</summary>
    public static void AssertFramed(HttpResponseMessage response) => Assert.Null(FramingProblem(response));

    /// <summary>
    /// Asserts an error response: the status, a one-line <c>text/plain</c> reason containing every fragment (DESIGN
    /// invariant 7: a clear reason), and no validators, which belong to a representation. Returns the reason.
    /// </summary>
    public static async Task<string> AssertOneLineErrorAsync(HttpResponseMessage response, HttpStatusCode status, params string[] fragments)
    {
        ArgumentNullException.ThrowIfNull(response);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var body = Encoding.UTF8.GetString(bytes);
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        var reason = body.TrimEnd('\n');
        Assert.False(string.IsNullOrWhiteSpace(reason), "The error has no reason.");
        Assert.DoesNotContain('\n', reason);
        Assert.Null(response.Headers.ETag);
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, reason, StringComparison.Ordinal);
        }

        return reason;
    }

    private static string Describe(byte[] body) =>
        body.Length <= 300 ? Encoding.UTF8.GetString(body) : $"{body.Length} bytes";
}
