using System.Text;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Tests.Serving;

// DESIGN invariant 7: a clear reason for the client, and the details (paths, exception messages) only in the log.
public sealed class IsoFailureTests
{
    private const string Mac = "b4:96:91:6e:2c:99";
    private const string ServerPath = "/srv/isocluster/secret-dir/hardware.yaml";
    private const string ExceptionText = "System.IO.IOException: Connection reset by peer (10.1.2.3:443)";

    // AddressRefused is the client's request refused (403), not an upstream failure: tested on its own below.
    public static TheoryData<UpstreamStatus> UpstreamFailures =>
        new(Enum.GetValues<UpstreamStatus>().Where(s => s is not UpstreamStatus.Ok and not UpstreamStatus.AddressRefused));

    [Fact]
    public void From_AddressRefused_403WithTheGuardsOneLineReason()
    {
        var detail = "'localhost' resolves to a loopback address, which a client's sourceISO may reach only if --iso-source-allow-address allows it";

        var failure = IsoFailure.From(UpstreamStatus.AddressRefused, detail);

        Assert.Equal(403, failure.StatusCode);
        Assert.Equal($"sourceISO is not allowed: {detail}", failure.Reason);
        Assert.False(failure.IsServerSide);
    }

    [Fact]
    public void From_HardwareNotFound_404SayingNoHardwareWithoutThePath()
    {
        var failure = IsoFailure.From(BootPlanStatus.HardwareNotFound, $"no Hardware object in '{ServerPath}' has an interface with MAC {Mac}", Mac);

        Assert.Equal(404, failure.StatusCode);
        Assert.Equal($"no Hardware for this MAC ({Mac})", failure.Reason);
        Assert.Contains(ServerPath, failure.LogText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BootPlanStatus.HardwareNotFound, 404)]
    [InlineData(BootPlanStatus.HardwareUnavailable, 503)]
    [InlineData(BootPlanStatus.NoSourceIso, 400)]
    [InlineData(BootPlanStatus.UpstreamFailed, 500)]
    [InlineData(BootPlanStatus.Ready, 500)]
    public void From_BootPlanStatusWhoseReasonMayNameTheServer_ReasonLeavesItToTheLog(BootPlanStatus status, int expected)
    {
        var detail = $"{ServerPath}: {ExceptionText}";

        var failure = IsoFailure.From(status, detail, Mac);

        Assert.Equal(expected, failure.StatusCode);
        Assert.DoesNotContain("/srv", failure.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", failure.Reason, StringComparison.Ordinal);
        Assert.Equal(detail, failure.LogText);
    }

    [Theory]
    [MemberData(nameof(UpstreamFailures))]
    public void From_UpstreamFailure_ReasonLeavesPathAndExceptionToTheLog(UpstreamStatus status)
    {
        // A local file upstream's reasons start with its path; a broken connection's carry the socket's message.
        var detail = $"{ServerPath}: reading bytes 0-99 failed: {ExceptionText}";

        var failure = IsoFailure.From(status, detail);

        Assert.InRange(failure.StatusCode, 502, 504);
        Assert.DoesNotContain("/srv", failure.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("10.1.2.3", failure.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", failure.Reason, StringComparison.Ordinal);
        Assert.Equal(detail, failure.LogText);
        Assert.True(failure.IsServerSide);
    }

    [Theory]
    [InlineData(UpstreamStatus.TimedOut, 504)]
    [InlineData(UpstreamStatus.Unreachable, 502)]
    [InlineData(UpstreamStatus.BadResponse, 502)]
    [InlineData(UpstreamStatus.RedirectRejected, 502)]
    [InlineData(UpstreamStatus.VersionChanged, 503)]
    public void From_UpstreamStatus_MapsToGatewayStatus(UpstreamStatus status, int expected)
    {
        Assert.Equal(expected, IsoFailure.From(status, "x").StatusCode);
    }

    [Fact]
    public void Overloaded_503WithRetryAfterNamingTheSetting()
    {
        // RFC 9110 §15.6.4: 503 may carry Retry-After (§10.2.3) saying how long to wait.
        var failure = IsoFailure.Overloaded(2048);

        Assert.Equal(503, failure.StatusCode);
        Assert.Equal("1", failure.RetryAfter);
        Assert.Contains("--max-concurrent-requests", failure.Reason, StringComparison.Ordinal);
        Assert.Contains("2048", failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryServiceUnavailable_CarriesRetryAfter()
    {
        IsoFailure[] unavailable =
        [
            IsoFailure.Overloaded(1),
            IsoFailure.From(BootPlanStatus.HardwareUnavailable, null, Mac),
            IsoFailure.From(UpstreamStatus.VersionChanged, null),
            IsoFailure.ClusterUnavailable("chunk read"),
        ];

        Assert.All(unavailable, failure => Assert.Equal(503, failure.StatusCode));
        Assert.All(unavailable, failure => Assert.NotNull(failure.RetryAfter));
    }

    [Theory]
    [InlineData("hook\nevil.img")]
    [InlineData("hook\r\nX-Injected: yes.img")]
    [InlineData("hook\u0085\u2028\u0000.img")]
    public void NotAnIso_NameWithLineBreaks_BodyIsOneLine(string name)
    {
        var body = Encoding.UTF8.GetString(IsoFailure.NotAnIso(name).ToBody());

        Assert.EndsWith("\n", body, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', body);
        Assert.Equal(1, body.Count(c => c == '\n'));
        Assert.DoesNotContain('\u0085', body);
        Assert.DoesNotContain('\u2028', body);
        Assert.DoesNotContain('\0', body);
    }

    [Fact]
    public void NotAnIso_LongName_EchoedShortened()
    {
        var name = new string('a', 5000) + ".img";

        var reason = IsoFailure.NotAnIso(name).Reason;

        Assert.InRange(reason.Length, 100, 200);
        Assert.Contains("…", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ToBody_LongReason_CappedToOneShortLine()
    {
        var failure = IsoFailure.From(BootPlanStatus.SourceNotAllowed, "sourceISO '" + new string('x', 10_000) + "' is not allowed", Mac);

        var body = Encoding.UTF8.GetString(failure.ToBody());

        Assert.InRange(body.Length, 100, 1100);
        Assert.Equal(1, body.Count(c => c == '\n'));
    }
}
