using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.Upstream;

namespace IsoCluster.Grains.Tests.Hosting;

/// <summary>The <c>Upstream</c> settings are checked at start, every problem reported at once and naming its setting.</summary>
public sealed class UpstreamOptionsValidatorTests
{
    private readonly UpstreamOptionsValidator _validator = new();

    [Fact]
    public void Validate_Defaults_Succeed()
    {
        Assert.True(_validator.Validate(null, new UpstreamOptions()).Succeeded);
    }

    [Fact]
    public void Validate_DefaultRetryDeadline_LeavesRoomInsideTheGatewaysDeadline()
    {
        // The gateway gives a read 3.5 s (Gateway:ClusterCalls:TotalDeadline); a retry may start until RetryDeadline
        // and needs a moment to answer, and a stall is found after StallTimeout with a retry still to come.
        var options = new UpstreamOptions();

        Assert.True(options.RetryDeadline < TimeSpan.FromSeconds(3.5));
        Assert.True(options.StallTimeout + options.MaxBackoff < options.RetryDeadline);
    }

    [Fact]
    public void Validate_EverySettingWrong_ReportsEachNamingItsSetting()
    {
        var options = new UpstreamOptions
        {
            Timeout = TimeSpan.Zero,
            StallTimeout = TimeSpan.FromSeconds(-1),
            RetryDeadline = TimeSpan.FromMinutes(2),
            MaxAttempts = 0,
            BaseBackoff = TimeSpan.FromSeconds(2),
            MaxBackoff = TimeSpan.FromSeconds(1),
            MaxRedirects = 21,
            MaxConnectionsPerServer = 0,
            MaxQueuedFetches = -1,
        };

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("--upstream-timeout (Upstream:Timeout)", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("--upstream-stall-timeout (Upstream:StallTimeout)", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("--upstream-retry-deadline (Upstream:RetryDeadline)", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Upstream:MaxAttempts", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Upstream:BaseBackoff", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Upstream:MaxRedirects", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("--upstream-max-connections (Upstream:MaxConnectionsPerServer)", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("--upstream-max-queued-fetches (Upstream:MaxQueuedFetches)", StringComparison.Ordinal));
        Assert.Equal(8, failures.Count);
    }

    [Fact]
    public void Validate_StallTimeoutLongerThanTimeout_Fails()
    {
        var options = new UpstreamOptions { Timeout = TimeSpan.FromSeconds(5), StallTimeout = TimeSpan.FromSeconds(6) };

        var failure = Assert.Single(_validator.Validate(null, options).Failures!);

        Assert.Contains("at most --upstream-timeout", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RetryDeadlineNotLongerThanMaxBackoff_Fails()
    {
        var options = new UpstreamOptions { RetryDeadline = TimeSpan.FromMilliseconds(500), MaxBackoff = TimeSpan.FromMilliseconds(500) };

        Assert.Contains("--upstream-retry-deadline", Assert.Single(_validator.Validate(null, options).Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OneAttemptAndNoQueue_Succeed()
    {
        // No retries and no queue are legitimate choices (an operator who wants failures reported at once).
        var options = new UpstreamOptions { MaxAttempts = 1, MaxQueuedFetches = 0 };

        Assert.True(_validator.Validate(null, options).Succeeded);
    }
}
