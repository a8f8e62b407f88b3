using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>
/// Overload: a silo makes at most <c>--upstream-max-connections</c> fetches per upstream server at once and queues at
/// most <c>--upstream-max-queued-fetches</c> more; past that, within the retry deadline, a read gets 503 with
/// Retry-After rather than waiting in an unbounded queue, and never a wrong byte.
/// </summary>
[Collection(FaultsDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class UpstreamBusyTests(FaultsFixture fixture, ITestOutputHelper output)
{
    private const int Chunk = BootIsoImage.ChunkSize;

    [Fact]
    public async Task Get_FetchSlotHeldBySlowFetch_OtherMissesGet503WithRetryAfterAndUpstreamNeverSeesMore()
    {
        var origin = await FaultyOrigin.StartAsync();
        await using var stopOrigin = origin;
        await using var gateway = await fixture.StartGatewayAsync(origin, "--upstream-max-connections", "1", "--upstream-max-queued-fetches", "0");
        var name = fixture.PublishBootIso("busy", origin: origin);
        var path = fixture.PathOf(name, origin);

        // 16 KiB every 50 ms: a chunk takes over 3 s, steadily (no stall), holding the only slot past the retry deadline.
        origin.Inject(name, OriginFault.Slow(16 * 1024), int.MaxValue);
        var slowReader = new BootReader(gateway.CreateClient(), path, fixture.Reference);
        var slow = slowReader.ReadAsync(100, 1_000);
        // The version probe has come and gone; what is under way now is the slow chunk fetch.
        Assert.True(await Eventually.HoldsAsync(() => origin.Requests.Count >= 1 && origin.InFlight == 1, TimeSpan.FromSeconds(10)));

        var readers = Enumerable.Range(2, 4).Select(_ => new BootReader(gateway.CreateClient(), path, fixture.Reference)).ToList();
        var others = await Task.WhenAll(readers.Select((reader, i) => reader.ReadAsync(((i + 2L) * Chunk) + 100, 1_000)));
        var slowRead = await slow;
        output.WriteLine($"FAULT-TABLE | one fetch slot, held by a slow fetch | slow read {slowRead.Status}; others {string.Join(", ", others.Select(r => r.Status))} | wrong bytes {readers.Sum(r => r.WrongBytes) + slowReader.WrongBytes}");

        Assert.All(others, read =>
        {
            Assert.True(read.Status == 503, read.ToString());
            Assert.Contains("busy", read.Detail, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(read.RetryAfter), read.ToString());
        });
        Assert.True(slowRead.Status is 206 or 504, slowRead.ToString());
        Assert.Equal(0, readers.Sum(r => r.WrongBytes) + slowReader.WrongBytes);
        Assert.Equal(1, origin.MostConcurrent);

        // Once the upstream is quick again, the same reads succeed.
        origin.Heal(name);
        var stopAt = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var (reader, i) in readers.Select((reader, i) => (reader, i)))
        {
            FaultRead again;
            do
            {
                Assert.True(DateTime.UtcNow < stopAt, reader.Describe());
                again = await reader.ReadAsync(((i + 2L) * Chunk) + 100, 1_000);
            }
            while (again.Status != 206);
        }

        Assert.Equal(0, readers.Sum(r => r.WrongBytes));
    }
}
