using IsoCluster.Gateway.Serving;

namespace IsoCluster.Gateway.Tests.Serving;

public sealed class ClusterCallOptionsValidatorTests
{
    private readonly ClusterCallOptionsValidator _validator = new();

    [Fact]
    public void Validate_Defaults_SucceedAndFitInsideBmcTimeout()
    {
        var options = new ClusterCallOptions();

        Assert.True(_validator.Validate(null, options).Succeeded);
        Assert.Equal(6, options.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(2), options.AttemptTimeout);
        Assert.Equal(TimeSpan.FromSeconds(3.5), options.TotalDeadline);
        Assert.True(options.TotalDeadline < TimeSpan.FromSeconds(5), "The deadline must leave a BMC (5 s) time to see the answer.");

        // With equal jitter each pause is at least half its step: the attempts must still span the time a cluster
        // takes to declare a killed silo dead (1.4 s measured), or they are all spent on a silo not yet known dead.
        var shortestSpan = TimeSpan.Zero;
        for (var retry = 1; retry < options.MaxAttempts; retry++)
        {
            var step = options.BaseBackoff * Math.Pow(2, retry - 1);
            shortestSpan += (step < options.MaxBackoff ? step : options.MaxBackoff) / 2;
        }

        Assert.InRange(shortestSpan, TimeSpan.FromSeconds(1.5), options.TotalDeadline);
    }

    [Fact]
    public void Validate_EverySettingWrong_ReportsEachOneByItsKey()
    {
        var options = new ClusterCallOptions
        {
            MaxAttempts = 0,
            AttemptTimeout = TimeSpan.Zero,
            TotalDeadline = TimeSpan.FromMinutes(2),
            BaseBackoff = TimeSpan.FromMilliseconds(-1),
            MaxBackoff = TimeSpan.FromMinutes(3),
        };

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToArray();
        Assert.Equal(5, failures.Length);
        foreach (var key in new[] { "MaxAttempts", "AttemptTimeout", "TotalDeadline", "BaseBackoff", "MaxBackoff" })
        {
            Assert.Contains(failures, failure => failure.StartsWith($"Gateway:ClusterCalls:{key} ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Validate_AttemptTimeoutLongerThanDeadline_Fails()
    {
        var options = new ClusterCallOptions { AttemptTimeout = TimeSpan.FromSeconds(4), TotalDeadline = TimeSpan.FromSeconds(3) };

        var failure = Assert.Single(_validator.Validate(null, options).Failures!);

        Assert.StartsWith("Gateway:ClusterCalls:AttemptTimeout ", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BaseBackoffAboveMaxBackoff_Fails()
    {
        var options = new ClusterCallOptions { BaseBackoff = TimeSpan.FromMilliseconds(900), MaxBackoff = TimeSpan.FromMilliseconds(500) };

        var failure = Assert.Single(_validator.Validate(null, options).Failures!);

        Assert.StartsWith("Gateway:ClusterCalls:BaseBackoff ", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OneAttempt_IsAllowed()
    {
        Assert.True(_validator.Validate(null, new ClusterCallOptions { MaxAttempts = 1 }).Succeeded);
    }
}
