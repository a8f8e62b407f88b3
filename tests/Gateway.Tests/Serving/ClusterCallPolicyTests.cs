using System.Diagnostics;
using System.Runtime.CompilerServices;
using IsoCluster.Gateway.Serving;
using Microsoft.Extensions.Logging;
using Orleans.Networking.Shared;
using Orleans.Runtime.Messaging;

namespace IsoCluster.Gateway.Tests.Serving;

/// <summary>DESIGN invariant 8: a grain read that a retry can save succeeds, within the BMC's deadline.</summary>
public sealed class ClusterCallPolicyTests
{
    private const string Mac = "b4:96:91:6e:2c:10";
    private const string Target = "v1/3";

    // Short pauses keep the tests fast; the defaults are checked separately.
    private static ClusterCallOptions Fast(int maxAttempts = 4) => new()
    {
        MaxAttempts = maxAttempts,
        AttemptTimeout = TimeSpan.FromSeconds(2),
        TotalDeadline = TimeSpan.FromSeconds(5),
        BaseBackoff = TimeSpan.FromMilliseconds(5),
        MaxBackoff = TimeSpan.FromMilliseconds(20),
    };

    public static TheoryData<Exception> TransientFailures() => new()
    {
        new SiloUnavailableException("the target silo became unavailable"),
        (OrleansMessageRejectionException)RuntimeHelpers.GetUninitializedObject(typeof(OrleansMessageRejectionException)),
        new ConnectionFailedException("connection refused"),
        new SocketConnectionException("connection reset"),
        new TimeoutException("response did not arrive on time"),
    };

    public static TheoryData<Exception> OtherFailures() => new()
    {
        new GatewayTooBusyException(),
        new LimitExceededException("overloaded"),
        new OrleansException("no compatible silo"),
        new InvalidOperationException("a bug in the grain"),
        new OperationCanceledException("cancelled, but not by our attempt timeout"),
    };

    [Theory]
    [MemberData(nameof(TransientFailures))]
    public void IsTransient_SiloOrConnectionLostOrTimeout_IsTrue(Exception failure)
    {
        Assert.True(ClusterCallPolicy.IsTransient(failure, attemptTimedOut: false));
    }

    [Theory]
    [MemberData(nameof(OtherFailures))]
    public void IsTransient_OverloadOrGrainFailureOrForeignCancellation_IsFalse(Exception failure)
    {
        Assert.False(ClusterCallPolicy.IsTransient(failure, attemptTimedOut: false));
    }

    [Fact]
    public void IsTransient_CancelledByOwnAttemptTimeout_IsTrue()
    {
        Assert.True(ClusterCallPolicy.IsTransient(new TaskCanceledException(), attemptTimedOut: true));
    }

    [Theory]
    [MemberData(nameof(TransientFailures))]
    public async Task CallAsync_TransientFailureThenSuccess_ReturnsResult(Exception failure)
    {
        using var harness = new ClusterCallHarness(Fast());
        var call = new ScriptedCall(ScriptedCall.Throws(failure), ScriptedCall.Throws(failure), ScriptedCall.Returns("bytes"));

        var result = await CallAsync(harness, call);

        Assert.Equal("bytes", result);
        Assert.Equal(3, call.Attempts);
        Assert.Equal(2, harness.Count("isocluster.gateway.cluster_retries"));
        Assert.Equal(0, harness.Count("isocluster.gateway.cluster_failures"));
    }

    [Fact]
    public async Task CallAsync_Retried_LogsEachRetryAtDebugWithMacTargetAttemptAndType()
    {
        using var harness = new ClusterCallHarness(Fast());
        var call = new ScriptedCall(ScriptedCall.Throws(new SiloUnavailableException("gone")), ScriptedCall.Returns("bytes"));

        await CallAsync(harness, call);

        var (level, eventId, message) = Assert.Single(harness.Log.Lines);
        Assert.Equal(LogLevel.Debug, level);
        Assert.Equal(3010, eventId);
        Assert.Contains(Mac, message, StringComparison.Ordinal);
        Assert.Contains(Target, message, StringComparison.Ordinal);
        Assert.Contains("attempt 1", message, StringComparison.Ordinal);
        Assert.Contains(nameof(SiloUnavailableException), message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallAsync_AlwaysUnavailable_MakesMaxAttemptsThenThrowsUnavailable()
    {
        using var harness = new ClusterCallHarness(Fast(maxAttempts: 4));
        var lost = new SiloUnavailableException("gone");
        var call = new ScriptedCall(ScriptedCall.Throws(lost));

        var failure = await Assert.ThrowsAsync<ClusterCallException>(() => CallAsync(harness, call));

        Assert.Equal(4, call.Attempts);
        Assert.Equal(4, failure.Attempts);
        Assert.False(failure.TimedOut);
        Assert.Same(lost, failure.InnerException);
        Assert.Equal(ClusterCallKind.ChunkRead, failure.Kind);
        Assert.Equal(3, harness.Count("isocluster.gateway.cluster_retries"));
        Assert.Equal(1, harness.Count("isocluster.gateway.cluster_failures"));
    }

    [Fact]
    public async Task CallAsync_OneAttemptAllowed_NeverRetries()
    {
        using var harness = new ClusterCallHarness(Fast(maxAttempts: 1));
        var call = new ScriptedCall(ScriptedCall.Throws(new SiloUnavailableException("gone")), ScriptedCall.Returns("bytes"));

        var failure = await Assert.ThrowsAsync<ClusterCallException>(() => CallAsync(harness, call));

        Assert.Equal(1, call.Attempts);
        Assert.Equal(1, failure.Attempts);
    }

    [Theory]
    [MemberData(nameof(OtherFailures))]
    public async Task CallAsync_NotTransient_ThrowsItAtOnceWithoutRetry(Exception failure)
    {
        using var harness = new ClusterCallHarness(Fast());
        var call = new ScriptedCall(ScriptedCall.Throws(failure), ScriptedCall.Returns("bytes"));

        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => CallAsync(harness, call));

        Assert.Same(failure, thrown);
        Assert.Equal(1, call.Attempts);
        Assert.Equal(0, harness.Count("isocluster.gateway.cluster_retries"));
    }

    [Fact]
    public async Task CallAsync_ResultOfAnyStatus_IsReturnedWithoutRetry()
    {
        // A grain's answer (an upstream failure, an unknown MAC) is a result, never a reason to ask again.
        using var harness = new ClusterCallHarness(Fast());
        var call = new ScriptedCall(ScriptedCall.Returns("UpstreamStatus.TimedOut"), ScriptedCall.Returns("other"));

        Assert.Equal("UpstreamStatus.TimedOut", await CallAsync(harness, call));
        Assert.Equal(1, call.Attempts);
    }

    [Fact]
    public async Task CallAsync_AttemptDoesNotAnswer_CancelsItsTokenAndRetries()
    {
        var options = Fast();
        options.AttemptTimeout = TimeSpan.FromMilliseconds(100);
        using var harness = new ClusterCallHarness(options);
        var call = new ScriptedCall(ScriptedCall.Hangs(), ScriptedCall.Returns("bytes"));

        var result = await CallAsync(harness, call);

        Assert.Equal("bytes", result);
        Assert.Equal(2, call.Attempts);
        Assert.True(call.Tokens.First().IsCancellationRequested, "The first attempt's token was not cancelled.");
        Assert.False(call.Tokens.Last().IsCancellationRequested);
    }

    [Fact]
    public async Task CallAsync_NoAttemptAnswersBeforeDeadline_ThrowsTimedOutExactlyAtTheDeadline()
    {
        var options = new ClusterCallOptions
        {
            MaxAttempts = 10,
            AttemptTimeout = TimeSpan.FromMilliseconds(300),
            TotalDeadline = TimeSpan.FromMilliseconds(800),
            BaseBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(20),
        };
        var time = new ManualTimeProvider();
        using var harness = new ClusterCallHarness(options, time);
        var call = new ScriptedCall(ScriptedCall.Hangs());
        var start = time.GetTimestamp();

        var read = CallAsync(harness, call);
        await time.RunUntilCompleteAsync(read);
        var failure = await Assert.ThrowsAsync<ClusterCallException>(() => read);

        // 300 ms, a pause, 300 ms, a pause, then what is left: the last attempt is cut so the read ends at the
        // deadline, not one full attempt after it.
        Assert.True(failure.TimedOut);
        Assert.Equal(3, call.Attempts);
        Assert.Equal(3, failure.Attempts);
        Assert.All(call.Tokens, token => Assert.True(token.IsCancellationRequested));
        Assert.Equal(options.TotalDeadline, time.GetElapsedTime(start));
    }

    [Fact]
    public async Task CallAsync_DeadlineAlreadyPassed_ThrowsTimedOutWithoutCalling()
    {
        using var harness = new ClusterCallHarness(Fast());
        var call = new ScriptedCall(ScriptedCall.Returns("bytes"));
        var passed = harness.Time.GetTimestamp() - 1;

        var failure = await Assert.ThrowsAsync<ClusterCallException>(
            () => harness.Policy.CallAsync(ScriptedCall.Invoke, call, ClusterCallKind.BootPlan, Mac, "boot plan", passed, CancellationToken.None).AsTask());

        Assert.True(failure.TimedOut);
        Assert.Equal(0, call.Attempts);
    }

    [Fact]
    public async Task CallAsync_ClientCancelsDuringAttempt_StopsAtOnceWithoutRetry()
    {
        var time = new ManualTimeProvider();
        using var harness = new ClusterCallHarness(Fast(), time);
        var call = new ScriptedCall(ScriptedCall.Hangs(), ScriptedCall.Returns("bytes"));
        using var client = new CancellationTokenSource();

        var read = CallAsync(harness, call, client.Token);
        await WaitUntilAsync(time.HasArmedTimer);
        await client.CancelAsync();

        // No time passed: the attempt's timeout never fired, the client's cancellation ended the read by itself.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        Assert.Equal(1, call.Attempts);
        Assert.Equal(0, time.GetTimestamp());
        Assert.Equal(0, harness.Count("isocluster.gateway.cluster_retries"));
    }

    [Fact]
    public async Task CallAsync_ClientCancelsDuringBackoff_StopsAtOnce()
    {
        var time = new ManualTimeProvider();
        using var harness = new ClusterCallHarness(Fast(), time);
        var call = new ScriptedCall(ScriptedCall.Throws(new SiloUnavailableException("gone")), ScriptedCall.Returns("bytes"));
        using var client = new CancellationTokenSource();

        var read = CallAsync(harness, call, client.Token);
        await WaitUntilAsync(() => harness.Count("isocluster.gateway.cluster_retries") == 1 && time.HasArmedTimer());
        await client.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        Assert.Equal(1, call.Attempts);
        Assert.Equal(0, time.GetTimestamp());
    }

    [Fact]
    public async Task CallAsync_ClientAlreadyGone_TransientFailureIsNotRetried()
    {
        using var harness = new ClusterCallHarness(Fast());
        var lost = new SiloUnavailableException("gone");
        var call = new ScriptedCall(ScriptedCall.Throws(lost), ScriptedCall.Returns("bytes"));
        using var client = new CancellationTokenSource();
        await client.CancelAsync();

        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => CallAsync(harness, call, client.Token));

        Assert.Same(lost, thrown);
        Assert.Equal(1, call.Attempts);
    }

    [Fact]
    public async Task CallAsync_Backoff_DoublesWithJitterThroughTheTimeProvider()
    {
        var time = new RecordingTimeProvider();
        var options = new ClusterCallOptions
        {
            MaxAttempts = 5,
            AttemptTimeout = TimeSpan.FromSeconds(2),
            TotalDeadline = TimeSpan.FromSeconds(10),
            BaseBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(60),
        };
        using var harness = new ClusterCallHarness(options, time);
        var lost = ScriptedCall.Throws(new SiloUnavailableException("gone"));
        var call = new ScriptedCall(lost, lost, lost, lost, ScriptedCall.Returns("bytes"));

        Assert.Equal("bytes", await CallAsync(harness, call));

        // Equal jitter: each pause lies between half and all of min(base * 2^(n-1), max).
        var pauses = time.DueTimes.Where(due => due != Timeout.InfiniteTimeSpan).ToArray();
        Assert.Equal(4, pauses.Length);
        double[] ceilings = [20, 40, 60, 60];
        for (var i = 0; i < pauses.Length; i++)
        {
            Assert.InRange(pauses[i].TotalMilliseconds, (ceilings[i] / 2) - 0.001, ceilings[i] + 0.001);
        }
    }

    [Fact]
    public async Task CallAsync_ManySequentialCalls_ReuseAttemptSourcesWithoutCrossCancellation()
    {
        // Pooled attempt sources: a source that a finished call returned must come back clean for the next one.
        var options = Fast();
        options.AttemptTimeout = TimeSpan.FromMilliseconds(50);
        using var harness = new ClusterCallHarness(options);
        for (var i = 0; i < 200; i++)
        {
            var call = new ScriptedCall(ScriptedCall.Returns("bytes"));
            Assert.Equal("bytes", await CallAsync(harness, call));
        }

        var slow = new ScriptedCall(ScriptedCall.Hangs(), ScriptedCall.Returns("bytes"));
        Assert.Equal("bytes", await CallAsync(harness, slow));
        Assert.Equal(2, slow.Attempts);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var limit = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), "The condition never came true.");
            await Task.Delay(1);
        }
    }

    private static Task<string> CallAsync(ClusterCallHarness harness, ScriptedCall call, CancellationToken aborted = default) =>
        harness.Policy.CallAsync(ScriptedCall.Invoke, call, ClusterCallKind.ChunkRead, Mac, Target, harness.Policy.StartDeadline(), aborted).AsTask();
}
