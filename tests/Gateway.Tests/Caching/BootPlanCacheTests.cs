using System.Collections.Concurrent;
using System.Text;
using IsoCluster.Gateway.Caching;
using IsoCluster.Gateway.Serving;
using IsoCluster.Gateway.Tests.Serving;
using IsoCluster.Grains.Admin;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Options;

namespace IsoCluster.Gateway.Tests.Caching;

/// <summary>
/// The gateway's boot plans: a BMC's reads make no grain call while its plan is young; past half the maximum age one
/// background refresh brings the grain's answer (a Hardware change, a new pin) without holding a read up; past the
/// maximum age a read asks the grain itself, so a change is never served later than the maximum age.
/// </summary>
public sealed class BootPlanCacheTests
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
    private static readonly MacAddress Mac = MacAddress.Parse("b4:96:91:6e:2c:10");
    private static readonly IsoSource Source = new("http://upstream.test/hook.iso", IsoSourceOrigin.Operator);
    private static readonly IsoVersion Version = new(Source, "v1", 100, "\"e\"", DateTimeOffset.UnixEpoch, 16, 32, true);

    [Fact]
    public async Task GetAsync_YoungerThanHalfTheMaximumAge_AsksTheGrainOnce()
    {
        using var fixture = Create();
        var (cache, grain, time) = (fixture.Cache, fixture.Grain, fixture.Time);
        grain.Answer(Ready("k=1"));

        var first = await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);
        time.Advance(MaxAge / 4);
        for (var i = 0; i < 100; i++)
        {
            Assert.Same(first.Plan, (await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None)).Plan);
        }

        Assert.Equal(1, grain.Calls);
        Assert.Equal("\"v1-tag-k=1\"", first.Plan!.ETag);
        Assert.Equal("Thu, 01 Jan 1970 00:00:00 GMT", first.Plan.LastModified);
    }

    [Fact]
    public async Task GetAsync_PastHalfTheMaximumAge_ServesThePlanInHandAndRefreshesItOnceInTheBackground()
    {
        using var fixture = Create();
        var (cache, grain, time) = (fixture.Cache, fixture.Grain, fixture.Time);
        grain.Answer(Ready("k=1"));
        var first = (await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None)).Plan;
        time.Advance(MaxAge * 0.6);
        grain.Answer(Ready("k=2"), hold: true);

        var during = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None).AsTask()));
        grain.Release();
        await grain.WaitForCallsAsync(2);
        var after = await WaitForPlanAsync(cache, plan => plan != first);

        Assert.All(during, lookup => Assert.Same(first, lookup.Plan));
        Assert.Equal(2, grain.Calls);
        Assert.Equal("k=2", Encoding.ASCII.GetString(after.Plan.KernelParams));
    }

    [Fact]
    public async Task GetAsync_RefreshBringsTheSamePlan_KeepsTheSameObjectAndRenewsIt()
    {
        using var fixture = Create();
        var (cache, grain, time) = (fixture.Cache, fixture.Grain, fixture.Time);
        grain.Answer(Ready("k=1"));
        var first = (await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None)).Plan!;
        time.Advance(MaxAge * 0.6);
        grain.Answer(Ready("k=1"));

        await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);
        await grain.WaitForCallsAsync(2);
        await WaitUntilAsync(() => first.FetchedAt == time.GetTimestamp());
        time.Advance(MaxAge * 0.6);
        var later = await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);

        Assert.Same(first, later.Plan);
    }

    [Fact]
    public async Task GetAsync_PastTheMaximumAge_AsksTheGrainBeforeAnswering()
    {
        using var fixture = Create();
        var (cache, grain, time) = (fixture.Cache, fixture.Grain, fixture.Time);
        grain.Answer(Ready("k=1"));
        await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);
        time.Advance(MaxAge);
        grain.Answer(new BootPlanResult(BootPlanStatus.HardwareNotFound, null, "no Hardware has this MAC"));

        var lookup = await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);

        Assert.Null(lookup.Plan);
        Assert.Equal(BootPlanStatus.HardwareNotFound, lookup.Refused!.Status);
        Assert.Equal(2, grain.Calls);
    }

    [Fact]
    public async Task GetAsync_PlanCannotBeServed_IsNeverKept()
    {
        using var fixture = Create();
        var (cache, grain) = (fixture.Cache, fixture.Grain);
        grain.Answer(new BootPlanResult(BootPlanStatus.UpstreamFailed, new BootPlan(Source, [], "t"), "upstream: 503", UpstreamStatus: UpstreamStatus.BadResponse));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(BootPlanStatus.UpstreamFailed, (await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None)).Refused!.Status);
        }

        Assert.Equal(3, grain.Calls);
    }

    [Fact]
    public async Task GetAsync_KernelParamsLongerThanTheMagicString_IsRefusedAsTooLong()
    {
        using var fixture = Create();
        var (cache, grain) = (fixture.Cache, fixture.Grain);
        grain.Answer(Ready(new string('k', 33)));

        var lookup = await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);

        Assert.Equal(BootPlanStatus.KernelParamsTooLong, lookup.Refused!.Status);
        Assert.Contains("33 bytes, longer than the 32-byte magic string", lookup.Refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_BackgroundRefreshFails_ServesThePlanInHandUntilTheMaximumAgeThenFails()
    {
        using var fixture = Create();
        var (cache, grain, time) = (fixture.Cache, fixture.Grain, fixture.Time);
        grain.Answer(Ready("k=1"));
        var first = (await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None)).Plan;
        time.Advance(MaxAge * 0.6);
        grain.Throw(new InvalidOperationException("grain failed"));

        Assert.Same(first, (await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None)).Plan);
        await grain.WaitForCallsAsync(2);
        await WaitUntilAsync(() => !fixture.Log.Lines.IsEmpty);
        time.Advance(MaxAge * 0.4);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None));
    }

    [Fact]
    public async Task GetAsync_SourceIsoOverride_IsAPlanOfItsOwn()
    {
        using var fixture = Create();
        var (cache, grain) = (fixture.Cache, fixture.Grain);
        grain.Answer(Ready("k=1"));

        await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);
        await cache.GetAsync(Mac, "http://upstream.test/other.iso", long.MaxValue, CancellationToken.None);
        await cache.GetAsync(Mac, "http://upstream.test/other.iso", long.MaxValue, CancellationToken.None);

        Assert.Equal(2, grain.Calls);
        Assert.Equal([null, "http://upstream.test/other.iso"], grain.Overrides);
    }

    [Fact]
    public async Task Forget_NextRequestAsksTheGrain()
    {
        using var fixture = Create();
        var (cache, grain) = (fixture.Cache, fixture.Grain);
        grain.Answer(Ready("k=1"));
        await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);

        cache.Forget(Mac, null);
        await cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);

        Assert.Equal(2, grain.Calls);
    }

    private static Fixture Create() => new();

    private static BootPlanResult Ready(string kernelParams) =>
        new(BootPlanStatus.Ready, new BootPlan(Source, Encoding.ASCII.GetBytes(kernelParams), $"tag-{kernelParams}"), null, Version);

    private static async Task<ServedPlan> WaitForPlanAsync(BootPlanCache cache, Func<ServedPlan, bool> condition)
    {
        ServedPlan? plan = null;
        await WaitUntilAsync(() =>
        {
            var lookup = cache.GetAsync(Mac, null, long.MaxValue, CancellationToken.None);
            plan = lookup.IsCompletedSuccessfully ? lookup.Result.Plan : null;
            return plan is not null && condition(plan);
        });
        return plan!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true within 10 s");
            await Task.Delay(5);
        }
    }

    /// <summary>A plan cache over one machine grain, with a clock the test moves.</summary>
    private sealed class Fixture : IDisposable
    {
        private readonly ClusterCallHarness _harness;

        public Fixture()
        {
            _harness = new ClusterCallHarness(new ClusterCallOptions { MaxAttempts = 1 }, Time);
            Cache = new BootPlanCache(
                new FakeGrainFactory(_ => Grain),
                _harness.Policy,
                _harness.Metrics,
                Time,
                Options.Create(new GatewayOptions { BootPlanMaxAge = MaxAge }),
                Log);
        }

        public ManualTimeProvider Time { get; } = new();

        public FakeMachineGrain Grain { get; } = new();

        public ListLogger<BootPlanCache> Log { get; } = new();

        public BootPlanCache Cache { get; }

        public void Dispose() => _harness.Dispose();
    }

    /// <summary>A machine grain whose answer the test sets; it counts calls and can hold one until released.</summary>
    private sealed class FakeMachineGrain : IMachineGrain
    {
        private readonly ConcurrentQueue<string?> _overrides = new();
        private TaskCompletionSource _gate = Open();
        private volatile BootPlanResult? _answer;
        private volatile Exception? _failure;
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public IReadOnlyList<string?> Overrides => [.. _overrides];

        public void Answer(BootPlanResult answer, bool hold = false)
        {
            _failure = null;
            _answer = answer;
            _gate = hold ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : Open();
        }

        public void Throw(Exception failure) => _failure = failure;

        public void Release() => _gate.TrySetResult();

        public async Task WaitForCallsAsync(int calls) => await WaitUntilAsync(() => Calls >= calls);

        public async ValueTask<BootPlanResult> GetBootPlanAsync(string? sourceIsoOverride, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            _overrides.Enqueue(sourceIsoOverride);
            await _gate.Task;
            return _failure is { } failure ? throw failure : _answer!;
        }

        public Task ReleaseVersionAsync(string versionId) => Task.CompletedTask;

        public Task ReportReadsAsync(BootReadReport report) => Task.CompletedTask;

        public ValueTask<MachineBoot?> GetBootAsync() => ValueTask.FromResult<MachineBoot?>(null);

        public ValueTask<AdminResult<MachineExplanation>> ExplainAsync(CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("the boot plan cache never asks for an explanation");

        private static TaskCompletionSource Open()
        {
            var open = new TaskCompletionSource();
            open.SetResult();
            return open;
        }
    }
}
