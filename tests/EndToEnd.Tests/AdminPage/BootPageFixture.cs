using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.AdminPage;

/// <summary>
/// One embedded gateway whose Hardware has four machines, three of which have read their ISO part of the way by
/// different amounts (64 KiB ranges from the start, as a BMC does) and one whose source ISO answers 500, so its boot
/// failed. The tests then only look: at the admin API and at the page.
/// </summary>
public sealed class BootPageFixture : IAsyncLifetime
{
    public const int ReadSize = 64 * 1024;
    public const int ChunkSize = 1024 * 1024;
    public const string IsoName = "hook.iso";
    public const string FailingMac = "52:54:00:0b:00:04";

    // An odd length, so the ISO's last chunk is short.
    public const long IsoLength = (4L * ChunkSize) + 12345;

    /// <summary>
    /// How many ranges each booting machine read from the start. Each stops in the first half of its last chunk, so the
    /// gateway's read-ahead (which starts on the next chunk once a read passes half of one) fetches no chunk nobody read.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, int> ReadsPerMac = new Dictionary<string, int>
    {
        ["52:54:00:0b:00:01"] = 3,
        ["52:54:00:0b:00:02"] = 24,
        ["52:54:00:0b:00:03"] = 36,
    };

    // Machine 3 reads its first ranges twice, as a BMC re-reading its boot sector does: it is served more bytes than
    // it has distinct.
    private const int Rereads = 4;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-bootpage-");

    public UpstreamServer Upstream { get; private set; } = null!;

    public GatewayInstance Gateway { get; private set; } = null!;

    /// <summary>A client for the gateway's admin listener.</summary>
    public HttpClient Admin { get; private set; } = null!;

    /// <summary>Every MAC in the Hardware file.</summary>
    public static IEnumerable<string> Macs => ReadsPerMac.Keys.Append(FailingMac);

    /// <summary>The chunks of the ISO any machine read.</summary>
    public static IReadOnlyList<long> ChunksRead =>
        [.. ReadsPerMac.Values.SelectMany(reads => Enumerable.Range(0, reads).Select(i => (long)i * ReadSize / ChunkSize)).Distinct().Order()];

    /// <summary>The bytes of its ISO <paramref name="mac"/> was served at least once.</summary>
    public static long DistinctBytes(string mac) => ReadsPerMac.TryGetValue(mac, out var reads) ? (long)reads * ReadSize : 0;

    /// <summary>The response body bytes <paramref name="mac"/> was served.</summary>
    public static long BytesServed(string mac) =>
        ReadsPerMac.TryGetValue(mac, out var reads) ? (long)(reads + (mac == ReadsPerMac.Keys.Last() ? Rereads : 0)) * ReadSize : 0;

    public async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Upstream.SetFile(IsoName, IsoImageBuilder.Filler((int)IsoLength, seed: 31));
        var hardwareFile = Path.Combine(_directory.FullName, "hardware.yaml");
        await File.WriteAllTextAsync(hardwareFile, HardwareYaml());

        Gateway = await GatewayInstance.StartAsync(
        [
            "--hardware-file", hardwareFile,
            "--iso-upstream-url", Upstream.Url(IsoName),
            "--chunk-size", ChunkSize.ToString(CultureInfo.InvariantCulture),
            "--cache-size", "64MiB",
        ]);
        Admin = new HttpClient { BaseAddress = Gateway.AdminAddress, Timeout = TimeSpan.FromSeconds(30) };

        foreach (var (mac, reads) in ReadsPerMac)
        {
            using var bmc = Gateway.CreateClient();
            var path = GatewayInstance.IsoPath(mac);
            for (var i = 0; i < reads + (mac == ReadsPerMac.Keys.Last() ? Rereads : 0); i++)
            {
                var start = (long)(i % reads) * ReadSize;
                using var response = await bmc.SendAsync(RangeRequest(path, start), HttpCompletionOption.ResponseContentRead);
                Assert.True(response.StatusCode == HttpStatusCode.PartialContent, $"{mac} bytes={start}-: {(int)response.StatusCode}");
            }
        }

        using (var failing = await Gateway.Client.SendAsync(RangeRequest(GatewayInstance.IsoPath(FailingMac), 0)))
        {
            Assert.Equal(HttpStatusCode.BadGateway, failing.StatusCode);
        }
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        _directory.Delete(recursive: true);
    }

    private static HttpRequestMessage RangeRequest(string path, long start) =>
        new(HttpMethod.Get, new Uri(path, UriKind.Relative)) { Headers = { Range = new RangeHeaderValue(start, start + ReadSize - 1) } };

    private string HardwareYaml() => string.Join("---\n", Macs.Select((mac, i) => $"""
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata:
          name: page{i + 1}
          namespace: tink-system
        spec:
          interfaces:
            - dhcp:
                mac: "{mac}"
                hostname: page{i + 1}
        {(mac == FailingMac ? $"      isoboot:\n        sourceISO: \"{Upstream.Url(IsoName, "status/500")}\"\n" : "")}
        """));
}
