using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Fuzz;

/// <summary>
/// The issue's fuzz test: thousands of generated requests against a real gateway (Kestrel on loopback, embedded silo,
/// real upstream), most through raw TCP so that invalid HTTP reaches Kestrel, the rest through HttpClient. DESIGN
/// invariant 7: bad input gets a 4xx with a reason, never a 5xx or a crash; every answer is valid HTTP/1.1; the
/// gateway serves correct bytes afterwards. Set ISOCLUSTER_FUZZ_SEED to replay a run, ISOCLUSTER_FUZZ_REQUESTS to
/// change its size.
/// </summary>
public sealed class GatewayFuzzTests(FuzzGatewayFixture target, ITestOutputHelper output) : IClassFixture<FuzzGatewayFixture>
{
    // Few enough that the gateway's admission limit is never near (a 503 would be a finding), enough to interleave.
    private const int Workers = 4;
    private const int MaxReported = 25;

    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Fuzz_GeneratedRequests_NoServerErrorValidHttpAndCorrectBytesAfter()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("ISOCLUSTER_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var fixedSeed)
            ? fixedSeed
            : Random.Shared.Next();
        var total = int.TryParse(Environment.GetEnvironmentVariable("ISOCLUSTER_FUZZ_REQUESTS"), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : 4000;
        output.WriteLine($"fuzz seed {seed} (ISOCLUSTER_FUZZ_SEED={seed} replays it), {total} requests");

        // Generated up front from the one seed, so a run replays whatever the interleaving of the workers.
        var generator = new FuzzRequestGenerator(new Random(seed), target);
        var connections = new List<FuzzRequest[]>();
        var viaClient = new List<FuzzRequest>();
        var pending = new List<FuzzRequest>();
        var picker = new Random(seed ^ 0x5eed);
        var groupSize = picker.Next(1, 4);
        for (var i = 0; i < total; i++)
        {
            var request = generator.Next();
            if (!request.RawOnly && picker.Next(100) < 25)
            {
                viaClient.Add(request);
            }
            else if (request.RawOnly)
            {
                // Odd framing (a body, Expect, two Hosts) may leave the connection in any state: such a request goes alone.
                connections.Add([request]);
            }
            else
            {
                // Plausible requests share keep-alive connections, as a BMC's reads do.
                pending.Add(request);
                if (pending.Count == groupSize)
                {
                    connections.Add([.. pending]);
                    pending.Clear();
                    groupSize = picker.Next(1, 4);
                }
            }
        }

        if (pending.Count > 0)
        {
            connections.Add([.. pending]);
        }

        var mark = target.Gateway.Log.Mark();
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var clock = Stopwatch.StartNew();
        var rawWork = new ConcurrentQueue<FuzzRequest[]>(connections);
        var clientWork = new ConcurrentQueue<FuzzRequest>(viaClient);
        var client = target.Gateway.CreateClient();
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            while (rawWork.TryDequeue(out var connection))
            {
                await RunRawAsync(connection, failures, statuses);
            }

            while (clientWork.TryDequeue(out var request))
            {
                await RunClientAsync(client, request, failures, statuses);
            }
        })));

        output.WriteLine($"{total} requests in {clock.Elapsed.TotalSeconds:0.0} s; statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
        Assert.True(
            failures.IsEmpty,
            $"Fuzz seed {seed} (replay with ISOCLUSTER_FUZZ_SEED={seed}): {failures.Count} problem(s){Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(MaxReported))}");

        // Nothing the fuzzer sent made the gateway or Kestrel log an error (an unhandled exception would).
        var errors = target.Gateway.Log.LinesSince(mark)
            .Where(line => line.Level >= LogLevel.Error && (line.Category.StartsWith("IsoCluster", StringComparison.Ordinal) || line.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)))
            .ToArray();
        Assert.True(errors.Length == 0, $"Fuzz seed {seed}: errors logged:{Environment.NewLine}{string.Join(Environment.NewLine, errors.Take(MaxReported))}");

        // And it still serves: a range across the occurrence straddling a chunk boundary, and the whole ISO.
        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            var probe = RangeProbe.Closed(FuzzGatewayFixture.ChunkSize - 400, FuzzGatewayFixture.ChunkSize + 1100, target.Length);
            Assert.Null(await IsoResponses.CheckRangeAsync(target.Gateway.CreateClient(), GatewayInstance.IsoPath(mac), probe, target.Reference(mac)));
            using var whole = await target.Gateway.CreateClient().GetAsync(GatewayInstance.IsoPath(mac));
            Assert.Equal(-1, ReferencePatch.FirstDifference(await whole.Content.ReadAsByteArrayAsync(), target.Reference(mac)));
        }
    }

    private async Task RunRawAsync(FuzzRequest[] requests, ConcurrentQueue<string> failures, ConcurrentDictionary<int, int> statuses)
    {
        using var timeout = new CancellationTokenSource(ResponseTimeout * requests.Length);
        try
        {
            await using var connection = await RawHttpConnection.OpenAsync(target.Gateway.BaseAddress, timeout.Token);
            foreach (var request in requests)
            {
                if (!await connection.SendAsync(request.ToWire(), timeout.Token))
                {
                    Report(failures, request, "the gateway closed the connection before the request was sent, without a Connection: close");
                    return;
                }

                var response = await connection.ReadResponseAsync(request.IsHead, timeout.Token);
                if (response is null)
                {
                    Report(failures, request, "the connection closed without a response");
                    return;
                }

                statuses.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
                var problem = response.Problem ?? FuzzResponseCheck.Problem(request, response.StatusCode, response.Headers, response.Body, target);
                if (problem is not null)
                {
                    Report(failures, request, $"{response.StatusCode}: {problem}");
                    return;
                }

                if (response.Closes)
                {
                    return;
                }
            }

            // A response longer than its Content-Length would leave bytes behind; the gateway must close on our FIN.
            var extra = await connection.FinishAsync(TimeSpan.FromSeconds(10));
            if (extra is null || extra.Length > 0)
            {
                Report(failures, requests[^1], extra is null ? "the connection stayed open after the client finished" : $"{extra.Length} bytes after the last response: {RawHttpConnection.Show(extra)}");
            }
        }
        catch (OperationCanceledException)
        {
            Report(failures, requests[0], $"no complete response within {ResponseTimeout.TotalSeconds} s per request ({requests.Length} on the connection)");
        }
    }

    private async Task RunClientAsync(HttpClient client, FuzzRequest request, ConcurrentQueue<string> failures, ConcurrentDictionary<int, int> statuses)
    {
        HttpRequestMessage message;
        try
        {
            message = new HttpRequestMessage(new HttpMethod(request.Method), request.Target);
            foreach (var (name, value) in request.Headers)
            {
                if (!name.Equals("Host", StringComparison.OrdinalIgnoreCase))
                {
                    message.Headers.TryAddWithoutValidation(name, value);
                }
            }
        }
        catch (Exception ex) when (ex is FormatException or UriFormatException or ArgumentException)
        {
            // Not something HttpClient can send; the raw requests cover it.
            return;
        }

        using (message)
        {
            try
            {
                using var timeout = new CancellationTokenSource(ResponseTimeout);
                using var response = await client.SendAsync(message, HttpCompletionOption.ResponseContentRead, timeout.Token);
                var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                var headers = response.Headers.Concat(response.Content.Headers)
                    .Select(h => new KeyValuePair<string, string>(h.Key, string.Join(", ", h.Value)))
                    .ToList();
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                // HttpClient sends a known method in upper case whatever it was given ("head" goes out as HEAD).
                var sent = request.Method.Equals("HEAD", StringComparison.OrdinalIgnoreCase) ? request with { Method = "HEAD" } : request;
                if (FuzzResponseCheck.Problem(sent, (int)response.StatusCode, headers, body, target) is { } problem)
                {
                    Report(failures, request, $"(HttpClient) {(int)response.StatusCode}: {problem}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                Report(failures, request, $"(HttpClient) {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    private static void Report(ConcurrentQueue<string> failures, FuzzRequest request, string problem) =>
        failures.Enqueue($"- {problem}{Environment.NewLine}  request {request}");
}
