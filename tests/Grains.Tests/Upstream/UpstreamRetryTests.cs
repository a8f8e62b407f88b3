using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Tests.Hardware;
using IsoCluster.Grains.Upstream;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Grains.Tests.Upstream;

/// <summary>
/// DESIGN invariant 8 at the silo: <see cref="UpstreamClient"/> against a real origin that misbehaves on cue. Transient
/// failures (resets, short bodies, stalls, 5xx other than 501, 408, 429) are retried within the retry deadline; answers
/// (4xx, 501, a version change, a window that does not fit) are not; a full silo reports busy. Each retry is logged, and
/// the final failure is a Warning naming the upstream and the cause.
/// </summary>
public sealed class UpstreamRetryTests : IAsyncLifetime
{
    private const int Size = 256 * 1024;
    private const long Offset = 64 * 1024;
    private const int Window = 100_000;
    private static readonly DateTimeOffset Modified = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Tests of the stall faults detect them after 1 s, so a stall costs a test little; the backoffs stay the defaults.
    private static readonly UpstreamOptions Quick = new() { StallTimeout = TimeSpan.FromSeconds(1), RetryDeadline = TimeSpan.FromSeconds(6) };

    // Every other test: no healthy attempt is taken for a stall when a loaded CI machine pauses the origin for a moment
    // (a 300 ms stall timeout once turned a wrong Content-Range into a retried stall there).
    private static readonly UpstreamOptions Steady = new() { StallTimeout = TimeSpan.FromSeconds(5), RetryDeadline = TimeSpan.FromSeconds(10) };

    private readonly byte[] _content = IsoImageBuilder.Filler(Size, seed: 21);
    private readonly ListLogger<UpstreamClient> _log = new();
    private FaultyOrigin _origin = null!;

    public async Task InitializeAsync() => _origin = await FaultyOrigin.StartAsync();

    public async Task DisposeAsync() => await _origin.DisposeAsync();

    [Theory]
    [InlineData(FaultKind.Status, 0, 503, 3)]
    [InlineData(FaultKind.Status, 0, 500, 1)]
    [InlineData(FaultKind.Status, 0, 408, 1)]
    [InlineData(FaultKind.Status, 0, 429, 1)]
    [InlineData(FaultKind.ResetMidBody, 10_000, 0, 2)]
    [InlineData(FaultKind.ShortBody, 10_000, 0, 1)]
    [InlineData(FaultKind.StallBeforeHeaders, 0, 0, 1)]
    [InlineData(FaultKind.StallMidBody, 10_000, 0, 1)]
    public async Task ReadAsync_TransientFault_RetriedUntilTheWindowIsRead(FaultKind kind, int bytes, int status, int times)
    {
        var (client, version, name) = await PublishAsync(new OriginFault(kind, bytes, status), times);
        using (client)
        {
            var window = new byte[Window];

            var read = await client.ReadAsync(version, Offset, window, CancellationToken.None);

            Assert.Equal(UpstreamRead.Ok, read);
            Assert.True(window.AsSpan().SequenceEqual(_content.AsSpan((int)Offset, Window)));
            Assert.True(await EventuallyAsync(() => _origin.ChunkRequests(name).Count == times + 1), Describe(name));
            Assert.Equal(times, _log.Entries.Count(e => e.EventId.Id == 2001 && e.Level == LogLevel.Debug));
            Assert.DoesNotContain(_log.Entries, e => e.Level >= LogLevel.Warning);
        }
    }

    [Theory]
    [InlineData(FaultKind.Status, 404, UpstreamStatus.BadResponse)]
    [InlineData(FaultKind.Status, 403, UpstreamStatus.BadResponse)]
    [InlineData(FaultKind.Status, 501, UpstreamStatus.BadResponse)]
    [InlineData(FaultKind.WrongContentRange, 0, UpstreamStatus.BadResponse)]
    public async Task ReadAsync_AnswerNotBlip_NotRetried(FaultKind kind, int status, UpstreamStatus expected)
    {
        var (client, version, name) = await PublishAsync(new OriginFault(kind, Status: status), int.MaxValue);
        using (client)
        {
            var read = await client.ReadAsync(version, Offset, new byte[Window], CancellationToken.None);

            Assert.Equal(expected, read.Status);
            Assert.False(read.Transient);
            Assert.Single(_origin.ChunkRequests(name));
            var warning = Assert.Single(_log.Entries, e => e.Level == LogLevel.Warning);
            Assert.Equal(2000, warning.EventId.Id);
            Assert.Contains(_origin.Url(name), warning.Message, StringComparison.Ordinal);
            Assert.Contains("(1 attempt(s))", warning.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReadAsync_FileReplacedWithoutETagAndPreconditionsIgnored_VersionChangedNotRetriedNotServed(bool honoursPreconditions)
    {
        // The origin: Last-Modified only, If-Unmodified-Since ignored, same length. Nothing of the new file may
        // come back as the pinned version's bytes.
        var name = $"lm-{Guid.NewGuid():N}.iso";
        _origin.Publish(name, _content, Modified, OriginValidators.LastModifiedOnly, honoursPreconditions);
        using var client = UpstreamClients.Create(_log, Steady);
        var version = await VersionAsync(client, name);
        _origin.Publish(name, IsoImageBuilder.Filler(Size, seed: 22), Modified.AddSeconds(1), OriginValidators.LastModifiedOnly, honoursPreconditions);

        var window = new byte[Window];
        var read = await client.ReadAsync(version, Offset, window, CancellationToken.None);

        Assert.Equal(UpstreamStatus.VersionChanged, read.Status);
        Assert.Single(_origin.ChunkRequests(name));
    }

    [Fact]
    public async Task ReadAsync_PersistentFailure_GivesUpWithinTheRetryDeadlineAndWarnsOnce()
    {
        var options = new UpstreamOptions { StallTimeout = TimeSpan.FromMilliseconds(300), RetryDeadline = TimeSpan.FromSeconds(1.5) };
        var (client, version, name) = await PublishAsync(OriginFault.Error(503), int.MaxValue, options);
        using (client)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var read = await client.ReadAsync(version, Offset, new byte[Window], CancellationToken.None);

            Assert.Equal(UpstreamStatus.BadResponse, read.Status);
            Assert.True(read.Transient);
            Assert.InRange(_origin.ChunkRequests(name).Count, 2, options.MaxAttempts);

            // Generous: the last retry starts within the deadline and a 503 comes back at once.
            Assert.True(clock.Elapsed < options.RetryDeadline + TimeSpan.FromSeconds(3), $"{clock.Elapsed}");
            var warning = Assert.Single(_log.Entries, e => e.Level == LogLevel.Warning);
            Assert.Contains("503", warning.Message, StringComparison.Ordinal);
            Assert.Contains(_origin.Url(name), warning.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ProbeAsync_TransientFault_RetriedOnlyWhenAsked()
    {
        var name = $"probe-{Guid.NewGuid():N}.iso";
        _origin.Publish(name, _content, Modified);
        _origin.Inject(name, OriginFault.Error(503), timesPerRange: 1, probeToo: true);
        using var client = UpstreamClients.Create(_log, Steady);
        var source = new IsoSource(_origin.Url(name), IsoSourceOrigin.Operator);

        var once = await client.ProbeAsync(source, retry: false, CancellationToken.None);
        _origin.Inject(name, OriginFault.Error(503), timesPerRange: 1, probeToo: true);
        var retried = await client.ProbeAsync(source, retry: true, CancellationToken.None);

        Assert.Equal(UpstreamStatus.BadResponse, once.Status);
        Assert.True(once.Transient);
        Assert.Equal(UpstreamStatus.Ok, retried.Status);
        Assert.Equal(Size, retried.Length);
        Assert.Equal(3, _origin.Requests.Count(r => r.Name == name));
    }

    [Fact]
    public async Task ReadAsync_EveryFetchSlotTakenAndNoQueue_BusyWithoutReachingTheUpstream()
    {
        // Steady's stall timeout: on a loaded machine a pause of the slow origin must not end the read holding the slot.
        var options = new UpstreamOptions { MaxConnectionsPerServer = 1, MaxQueuedFetches = 0, RetryDeadline = TimeSpan.FromSeconds(1), StallTimeout = Steady.StallTimeout };
        var (client, version, name) = await PublishAsync(OriginFault.Slow(4 * 1024), int.MaxValue, options);
        using (client)
        {
            // 100,000 bytes at 4 KiB every 50 ms: over a second of steady progress, holding the only slot.
            var slow = client.ReadAsync(version, Offset, new byte[Window], CancellationToken.None);
            Assert.True(await EventuallyAsync(() => _origin.InFlight == 1));

            var busy = await client.ReadAsync(version, 0, new byte[1000], CancellationToken.None);

            Assert.Equal(UpstreamStatus.Busy, busy.Status);
            Assert.True(busy.Transient);
            Assert.Equal(UpstreamRead.Ok, await slow);
            Assert.Equal(1, _origin.MostConcurrent);

            // Recorded as the origin's handler ends, a moment after its last byte.
            Assert.True(await EventuallyAsync(() => _origin.ChunkRequests(name).Count == 1), Describe(name));
        }
    }

    [Fact]
    public async Task ReadAsync_QueuedBehindTheOnlyFetchSlot_AsksForItsBufferOnlyOnceItHasTheSlot()
    {
        // A silo's misses queue behind Upstream:MaxConnectionsPerServer fetches; a chunk buffer is a megabyte, so a
        // queued fetch must not hold one while it waits.
        var options = new UpstreamOptions { MaxConnectionsPerServer = 1, MaxQueuedFetches = 1, RetryDeadline = TimeSpan.FromSeconds(10), StallTimeout = Steady.StallTimeout };
        var (client, version, name) = await PublishAsync(OriginFault.Slow(2 * 1024), times: 1, options);
        using (client)
        {
            var slow = client.ReadAsync(version, Offset, new byte[Window], CancellationToken.None);
            Assert.True(await EventuallyAsync(() => _origin.InFlight == 1));
            var asked = 0;
            var window = new byte[1000];

            var queued = client.ReadAsync(version, 0, window.Length, () => { asked++; return window; }, CancellationToken.None);
            await Task.Delay(200);

            Assert.False(slow.IsCompleted);
            Assert.Equal(0, asked);
            Assert.Equal(UpstreamRead.Ok, await slow);
            Assert.Equal(UpstreamRead.Ok, await queued);
            Assert.Equal(1, asked);
            Assert.True(window.AsSpan().SequenceEqual(_content.AsSpan(0, window.Length)));
        }
    }

    [Fact]
    public async Task ReadAsync_UpstreamWithCredentialsInItsUrlRefusesConnections_ReasonAndLogShowNoCredentials()
    {
        // Reasons reach the BMC and the logs; user information in an operator's URL is a secret (as a presigned query is).
        var name = $"gone-{Guid.NewGuid():N}.iso";
        _origin.Publish(name, _content, Modified);
        using var client = UpstreamClients.Create(_log, new UpstreamOptions { RetryDeadline = TimeSpan.FromSeconds(1) });
        var version = await VersionAsync(client, name);
        var port = new Uri(_origin.Url(name)).Port;
        await _origin.DisposeAsync();
        var secret = version with { Source = new IsoSource($"http://isocluster:S3cr3t@127.0.0.1:{port}/iso/{name}", IsoSourceOrigin.Operator) };

        var read = await client.ReadAsync(secret, Offset, new byte[Window], CancellationToken.None);

        Assert.Equal(UpstreamStatus.Unreachable, read.Status);
        Assert.True(read.Transient);
        Assert.Contains($"127.0.0.1:{port}", read.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("S3cr3t", read.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(_log.Entries, e => e.Message.Contains("S3cr3t", StringComparison.Ordinal));
    }

    private async Task<(UpstreamClient Client, IsoVersion Version, string Name)> PublishAsync(OriginFault fault, int times, UpstreamOptions? options = null)
    {
        var name = $"{fault.Kind}-{Guid.NewGuid():N}.iso";
        _origin.Publish(name, _content, Modified);
        var stalls = fault.Kind is FaultKind.StallBeforeHeaders or FaultKind.StallMidBody;
        var client = UpstreamClients.Create(_log, options ?? (stalls ? Quick : Steady));
        var version = await VersionAsync(client, name);
        _origin.Inject(name, fault, times);
        return (client, version, name);
    }

    private async Task<IsoVersion> VersionAsync(UpstreamClient client, string name)
    {
        var source = new IsoSource(_origin.Url(name), IsoSourceOrigin.Operator);
        var probe = await client.ProbeAsync(source, retry: true, CancellationToken.None);
        Assert.Equal(UpstreamStatus.Ok, probe.Status);
        return new IsoVersion(source, "v1", probe.Length, probe.ETag, probe.LastModified, 64 * 1024, 16, probe.RangeSupported);
    }

    private string Describe(string name) =>
        string.Join("; ", _origin.ChunkRequests(name).Select(r => $"{r.Range} {r.Status} {r.Fault}"));

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var stopAt = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > stopAt)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
