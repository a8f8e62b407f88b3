using IsoCluster.Gateway.Serving;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Gateway.Tests.Serving;

public sealed class RequestAdmissionTests : IDisposable
{
    private readonly SteppedTime _time = new();
    private readonly ClusterCallHarness _harness;
    private readonly ListLogger<RequestAdmission> _log = new();

    public RequestAdmissionTests() => _harness = new ClusterCallHarness(time: _time);

    [Fact]
    public void TryEnter_UpToTheLimit_AdmittedThenTurnedAway()
    {
        var admission = Create(limit: 3);

        var admitted = Enumerable.Range(0, 3).Select(_ => admission.TryEnter()).ToArray();
        var refused = admission.TryEnter();

        Assert.All(admitted, ticket => Assert.True(ticket.Admitted));
        Assert.False(refused.Admitted);
        Assert.Equal(3, admission.InFlight);
        Assert.Equal(1, _harness.Count("isocluster.gateway.requests_rejected"));
    }

    [Fact]
    public void TryEnter_AdmittedAndReleased_AllocatesNothing()
    {
        // The serving path allocates nothing per request; admission must not be the first thing that does.
        var admission = Create(limit: 4);
        admission.TryEnter().Dispose();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            using var ticket = admission.TryEnter();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Dispose_AdmittedTicket_FreesItsPlace()
    {
        var admission = Create(limit: 1);
        var first = admission.TryEnter();

        first.Dispose();
        using var second = admission.TryEnter();

        Assert.True(second.Admitted);
        Assert.Equal(1, admission.InFlight);
    }

    [Fact]
    public void Dispose_RefusedTicket_ReleasesNothing()
    {
        var admission = Create(limit: 1);
        using var held = admission.TryEnter();

        admission.TryEnter().Dispose();
        admission.TryEnter().Dispose();

        Assert.Equal(1, admission.InFlight);
        Assert.False(admission.TryEnter().Admitted);
    }

    [Fact]
    public async Task TryEnter_ManyThreads_NeverMoreThanTheLimitInFlight()
    {
        // The compare-and-swap must neither admit past the limit nor leak a place under contention.
        const int limit = 4;
        var admission = Create(limit);
        var peak = 0;
        var admittedCount = 0;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                using var ticket = admission.TryEnter();
                if (ticket.Admitted)
                {
                    Interlocked.Increment(ref admittedCount);
                    var now = admission.InFlight;
                    var seen = Volatile.Read(ref peak);
                    while (now > seen && Interlocked.CompareExchange(ref peak, now, seen) != seen)
                    {
                        seen = Volatile.Read(ref peak);
                    }
                }
            }
        })));

        Assert.InRange(peak, 1, limit);
        Assert.Equal(0, admission.InFlight);
        Assert.True(admittedCount > 0);
    }

    [Fact]
    public void TryEnter_TurnedAwayRepeatedly_OneWarningPerIntervalWithTheCount()
    {
        var admission = Create(limit: 1);
        using var held = admission.TryEnter();

        for (var i = 0; i < 5; i++)
        {
            admission.TryEnter();
        }

        _time.Advance(TimeSpan.FromSeconds(11));
        for (var i = 0; i < 3; i++)
        {
            admission.TryEnter();
        }

        var warnings = _log.Lines.Where(line => line.EventId == 3004).ToArray();
        Assert.Equal(2, warnings.Length);
        Assert.All(warnings, line => Assert.Equal(LogLevel.Warning, line.Level));
        Assert.Contains("Turned away 1 ", warnings[0].Message, StringComparison.Ordinal);
        Assert.Contains("Turned away 5 ", warnings[1].Message, StringComparison.Ordinal);
        Assert.Equal(8, _harness.Count("isocluster.gateway.requests_rejected"));
    }

    public void Dispose() => _harness.Dispose();

    private RequestAdmission Create(int limit) => new(
        Microsoft.Extensions.Options.Options.Create(new GatewayOptions { MaxConcurrentRequests = limit }),
        _time,
        _harness.Metrics,
        _log);

    private sealed class SteppedTime : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _now);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _now, by.Ticks);
    }
}
