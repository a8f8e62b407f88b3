using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;

namespace IsoCluster.Grains.Tests.Upstream;

/// <summary>
/// DESIGN invariant 3: each chunk answer is checked against the pinned version by every validator it carries, status
/// first, so an error page is a failure (502) and never a version change, and a changed file is never taken for the
/// pinned one even when the upstream ignores the conditional headers. Also which failures a retry may cure.
/// </summary>
public sealed class UpstreamResponseCheckTests
{
    private const long Length = 268_435_456;
    private const long Offset = 1_048_576;
    private const long End = 2_097_151;
    private const string ETag = "\"v1\"";
    private static readonly DateTimeOffset Modified = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void CheckChunk_503ErrorPageWithItsOwnLengthAndValidators_IsTransientBadResponseNotVersionChanged()
    {
        // The issue: "VersionChanged: length changed from 268435456 to 15" for a 503 page.
        using var response = Answer(HttpStatusCode.ServiceUnavailable, body: 15, etag: "\"page\"", modified: DateTimeOffset.UtcNow);

        var failure = Check(response);

        Assert.Equal(UpstreamStatus.BadResponse, failure?.Status);
        Assert.True(failure?.Transient);
        Assert.Contains("503", failure?.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(507, true)]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(501, false)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(410, false)]
    [InlineData(304, false)]
    public void CheckChunk_ErrorStatus_BadResponseRetriedOnlyWhenTransient(int status, bool transient)
    {
        // RFC 9110 §15.6.2: 501 means the server will never support the request; §15.5.9 408 and RFC 6585 §4 429 ask
        // for the request again.
        using var response = Answer((HttpStatusCode)status, body: 10);

        var failure = Check(response);

        Assert.Equal(UpstreamStatus.BadResponse, failure?.Status);
        Assert.Equal(transient, failure?.Transient);
        Assert.Equal(transient, UpstreamResponseCheck.IsTransient((HttpStatusCode)status));
    }

    [Fact]
    public void CheckChunk_206OfPinnedVersion_IsAccepted()
    {
        using var response = Partial(Offset, End, Length);

        Assert.Null(Check(response));
    }

    [Fact]
    public void CheckChunk_412_IsVersionChanged()
    {
        // RFC 9110 §13.1.1: If-Match (or §13.1.4 If-Unmodified-Since) failed, so the representation is not the pinned one.
        using var response = Answer(HttpStatusCode.PreconditionFailed, body: 0);

        var failure = Check(response);

        Assert.Equal(UpstreamStatus.VersionChanged, failure?.Status);
        Assert.False(failure?.Transient);
    }

    [Theory]
    [InlineData(1_000_000L, UpstreamStatus.VersionChanged)]
    [InlineData(null, UpstreamStatus.VersionChanged)]
    [InlineData(Length, UpstreamStatus.BadResponse)]
    public void CheckChunk_416_IsVersionChangedWhenTheFileShrank(long? completeLength, UpstreamStatus expected)
    {
        // RFC 9110 §15.5.17: 416 carries "bytes */complete-length"; every window asked for lies within the pinned length.
        using var response = Answer(HttpStatusCode.RequestedRangeNotSatisfiable, body: 0);
        if (completeLength is long now)
        {
            response.Content.Headers.ContentRange = new ContentRangeHeaderValue(now);
        }

        Assert.Equal(expected, Check(response)?.Status);
    }

    [Fact]
    public void CheckChunk_206WithOtherETag_IsVersionChanged()
    {
        using var response = Partial(Offset, End, Length, etag: "\"v2\"");

        var failure = Check(response);

        Assert.Equal(UpstreamStatus.VersionChanged, failure?.Status);
        Assert.Contains("ETag changed from \"v1\" to \"v2\"", failure?.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckChunk_206WithWeakFormOfPinnedETag_IsVersionChanged()
    {
        // A weak tag only promises semantic equivalence (RFC 9110 §8.8.1); bytes must be the pinned ones.
        using var response = Partial(Offset, End, Length, etag: "W/\"v1\"");

        Assert.Equal(UpstreamStatus.VersionChanged, Check(response)?.Status);
    }

    [Fact]
    public void CheckChunk_NoETagAndNewerLastModified_IsVersionChanged()
    {
        // The origin: no ETag, the file replaced, If-Unmodified-Since ignored; only Last-Modified tells.
        var version = Version(etag: null);
        using var response = Partial(Offset, End, Length, etag: null, modified: Modified.AddDays(31));

        var failure = UpstreamResponseCheck.CheckChunk(response, version, Offset, End);

        Assert.Equal(UpstreamStatus.VersionChanged, failure?.Status);
        Assert.Contains("Last-Modified changed", failure?.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckChunk_LastModifiedWithinTheSameSecond_IsAccepted()
    {
        // HTTP dates have one-second precision (RFC 9110 §5.6.7); a pinned date with a fraction must still match.
        var version = Version(etag: null) with { LastModified = Modified.AddMilliseconds(600) };
        using var response = Partial(Offset, End, Length, etag: null, modified: Modified);

        Assert.Null(UpstreamResponseCheck.CheckChunk(response, version, Offset, End));
    }

    [Fact]
    public void CheckChunk_206WithOtherCompleteLength_IsVersionChangedBeforeWindowIsChecked()
    {
        using var grown = Partial(Offset, End, Length + 1);
        using var shrunk = Partial(Offset, Offset + 99, Offset + 100);

        Assert.Equal(UpstreamStatus.VersionChanged, Check(grown)?.Status);
        Assert.Equal(UpstreamStatus.VersionChanged, Check(shrunk)?.Status);
    }

    [Theory]
    [InlineData(Offset + 512, End + 512)]
    [InlineData(Offset, End - 1)]
    [InlineData(0L, End)]
    public void CheckChunk_206ForAnotherWindow_IsBadResponseNotRetried(long from, long to)
    {
        using var response = Partial(from, to, Length);

        var failure = Check(response);

        Assert.Equal(UpstreamStatus.BadResponse, failure?.Status);
        Assert.False(failure?.Transient);
        Assert.Contains("Content-Range", failure?.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckChunk_206WithoutContentRange_IsBadResponse()
    {
        using var response = Answer(HttpStatusCode.PartialContent, body: (int)(End - Offset + 1), etag: ETag, modified: Modified);

        Assert.Equal(UpstreamStatus.BadResponse, Check(response)?.Status);
    }

    [Fact]
    public void CheckChunk_200WithWholeLengthAndSameValidators_IsAccepted()
    {
        // RFC 9110 §14.2: a server may ignore Range and send the whole representation.
        using var response = Answer(HttpStatusCode.OK, body: 0, etag: ETag, modified: Modified);
        response.Content.Headers.ContentLength = Length;

        Assert.Null(Check(response));
    }

    [Fact]
    public void CheckChunk_200WithOtherLength_IsVersionChanged()
    {
        using var response = Answer(HttpStatusCode.OK, body: 0, etag: null, modified: null);
        response.Content.Headers.ContentLength = Length - 1;

        Assert.Equal(UpstreamStatus.VersionChanged, Check(response)?.Status);
    }

    [Fact]
    public void CheckChunk_ResponseWithoutValidators_IsCheckedByLengthOnly()
    {
        using var response = Partial(Offset, End, Length, etag: null, modified: null);

        Assert.Null(Check(response));
    }

    [Fact]
    public void IsTransient_ConnectionRefusedOrResetOrEndedOrDns_True()
    {
        Assert.True(UpstreamResponseCheck.IsTransient(new HttpRequestException(HttpRequestError.ConnectionError, "refused", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(UpstreamResponseCheck.IsTransient(new HttpRequestException(HttpRequestError.ConnectionError, "reset", new IOException("reset"))));
        Assert.True(UpstreamResponseCheck.IsTransient(new HttpRequestException(HttpRequestError.ResponseEnded, "ended")));
        Assert.True(UpstreamResponseCheck.IsTransient(new HttpRequestException(HttpRequestError.NameResolutionError, "no such host")));
    }

    [Fact]
    public void IsTransient_TlsFailureProtocolErrorOrOwnRefusal_False()
    {
        Assert.False(UpstreamResponseCheck.IsTransient(new HttpRequestException(HttpRequestError.SecureConnectionError, "bad certificate")));
        Assert.False(UpstreamResponseCheck.IsTransient(new HttpRequestException(HttpRequestError.InvalidResponse, "garbage")));

        // A connect callback that refuses an address (a policy check) is not a network blip.
        Assert.False(UpstreamResponseCheck.IsTransient(new HttpRequestException(HttpRequestError.ConnectionError, "refused by policy", new InvalidOperationException("loopback"))));
    }

    private static UpstreamRead? Check(HttpResponseMessage response) =>
        UpstreamResponseCheck.CheckChunk(response, Version(ETag), Offset, End);

    private static IsoVersion Version(string? etag) => new(
        new IsoSource("http://isos.example/hook.iso", IsoSourceOrigin.Operator), "v1", Length, etag, Modified, 1_048_576, 1024, RangeSupported: true);

    private static HttpResponseMessage Partial(long from, long to, long length, string? etag = ETag, DateTimeOffset? modified = null)
    {
        var response = Answer(HttpStatusCode.PartialContent, body: 0, etag, modified ?? Modified);
        response.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, to, length);
        response.Content.Headers.ContentLength = to - from + 1;
        return response;
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, int body, string? etag = null, DateTimeOffset? modified = null)
    {
        var response = new HttpResponseMessage(status) { Content = new ByteArrayContent(new byte[body]) };
        if (etag is not null)
        {
            response.Headers.ETag = EntityTagHeaderValue.Parse(etag);
        }

        response.Content.Headers.LastModified = modified;
        return response;
    }
}
