using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.TestSupport;

/// <summary>
/// What the admin API and CLI tests run against: a real upstream (counting every request) serving two ISOs that carry
/// the HookOS magic string, a Hardware file with three machines, a token file, and real embedded gateways started on them.
/// </summary>
/// <remarks>
/// Machine <see cref="OwnSourceMac"/> names its own source (<see cref="OwnSourceName"/>) in its Hardware; machine
/// <see cref="DefaultSourceMac"/> boots the default (<c>--iso-upstream-url</c>, <see cref="DefaultSourceName"/>); machine
/// <see cref="MissingSourceMac"/> names a source the upstream does not have (<see cref="MissingSourceName"/>), so its boot
/// fails before any version of it is read. Each ISO is
/// 3.5 chunks long (1 MiB chunks) with one magic string straddling the first chunk boundary and one inside the third
/// chunk, so patched bytes cross chunks.
/// </remarks>
public sealed class AdminTestBed : IAsyncDisposable
{
    public const string Token = "t0ken-for-tests";
    public const string OwnSourceMac = "b4:96:91:6e:2c:10";
    public const string DefaultSourceMac = "b4:96:91:6e:2c:20";
    public const string MissingSourceMac = "b4:96:91:6e:2c:30";
    public const string UnknownMac = "b4:96:91:6e:2c:99";
    public const string DefaultSourceName = "hook.iso";
    public const string OwnSourceName = "sm01.iso";
    public const string MissingSourceName = "missing.iso";
    public const int ChunkSize = 1024 * 1024;
    public const string SyslogHost = "10.0.0.5:514";

    /// <summary>The HookOS placeholder, as the gateway's default <c>--iso-patch-magic-string</c>.</summary>
    public const string Magic = IsoOptions.HookOsMagicString;

    private readonly DirectoryInfo _directory;

    private AdminTestBed(UpstreamServer upstream, DirectoryInfo directory)
    {
        Upstream = upstream;
        _directory = directory;
        HardwareFile = Path.Combine(directory.FullName, "hardware.yaml");
        TokenFile = Path.Combine(directory.FullName, "admin-token");
    }

    public UpstreamServer Upstream { get; }

    public string HardwareFile { get; }

    public string TokenFile { get; }

    /// <summary>The bytes of each ISO the upstream serves, by name.</summary>
    public IReadOnlyDictionary<string, byte[]> Isos { get; private set; } = new Dictionary<string, byte[]>();

    /// <summary>Where the magic string starts in both ISOs.</summary>
    public static IReadOnlyList<long> MagicOffsets { get; } = [ChunkSize - 300, (2L * ChunkSize) + 4096];

    public static async Task<AdminTestBed> StartAsync()
    {
        var bed = new AdminTestBed(await UpstreamServer.StartAsync(), Directory.CreateTempSubdirectory("isocluster-admin-"));
        var isos = new Dictionary<string, byte[]>
        {
            [DefaultSourceName] = IsoWithMagic(seed: 1),
            [OwnSourceName] = IsoWithMagic(seed: 2),
        };
        foreach (var (name, bytes) in isos)
        {
            bed.Upstream.SetFile(name, bytes);
        }

        bed.Isos = isos;
        await File.WriteAllTextAsync(bed.HardwareFile, HardwareYaml(bed.Upstream.Url(OwnSourceName), bed.Upstream.Url(MissingSourceName)));
        await File.WriteAllTextAsync(bed.TokenFile, $"  {Token}\n");
        return bed;
    }

    /// <summary>The ISO a machine boots from.</summary>
    public static string SourceNameOf(string mac) => mac switch
    {
        OwnSourceMac => OwnSourceName,
        MissingSourceMac => MissingSourceName,
        _ => DefaultSourceName,
    };

    /// <summary>
    /// Starts an embedded gateway on this bed: the default source ISO, the Hardware file, <c>--syslog-host</c>, the token
    /// file unless <paramref name="withToken"/> is false, and <paramref name="extra"/>.
    /// </summary>
    public Task<GatewayInstance> StartGatewayAsync(bool withToken = true, params string[] extra)
    {
        var args = new List<string>
        {
            "--iso-upstream-url", Upstream.Url(DefaultSourceName),
            "--hardware-file", HardwareFile,
            "--syslog-host", SyslogHost,
            "--chunk-size", "1MiB",

            // Tests count upstream requests; a revalidation probe landing mid-test on a slow machine would be counted.
            "--iso-revalidate-interval", "01:00:00",
        };
        if (withToken)
        {
            args.AddRange(["--admin-token-file", TokenFile]);
        }

        args.AddRange(extra);
        return GatewayInstance.StartAsync(args);
    }

    /// <summary>A client for <paramref name="gateway"/>'s admin listener, sending <paramref name="token"/> when given.</summary>
    public static HttpClient AdminClient(GatewayInstance gateway, string? token = Token)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        var client = new HttpClient { BaseAddress = gateway.AdminAddress, Timeout = TimeSpan.FromMinutes(2) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>Starts a prewarm and polls it until it is no longer running; returns its last progress.</summary>
    public static async Task<JsonElement> PrewarmAsync(HttpClient admin, string? sourceIso)
    {
        ArgumentNullException.ThrowIfNull(admin);
        using var started = await admin.PostAsJsonAsync("api/prewarm", new { sourceIso });
        var body = await started.Content.ReadAsStringAsync();
        if (started.StatusCode != System.Net.HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"prewarm answered {(int)started.StatusCode}: {body}");
        }

        var progress = JsonDocument.Parse(body).RootElement;
        var id = progress.GetProperty("id").GetString();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (progress.GetProperty("state").GetString() == "running")
        {
            await Task.Delay(50, deadline.Token);
            progress = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/prewarm/{id}", UriKind.Relative), deadline.Token)).RootElement;
        }

        return progress;
    }

    /// <summary>
    /// Reads a machine's ISO through <paramref name="gateway"/> in 256 KiB ranges, as a BMC would: the whole of it, or
    /// its first <paramref name="upTo"/> bytes.
    /// </summary>
    public async Task<byte[]> ReadIsoAsync(GatewayInstance gateway, string mac, int? upTo = null)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        var length = Math.Min(upTo ?? int.MaxValue, Isos[SourceNameOf(mac)].Length);
        var result = new byte[length];
        for (var offset = 0; offset < length; offset += 256 * 1024)
        {
            var end = Math.Min(length, offset + (256 * 1024)) - 1;
            using var request = new HttpRequestMessage(HttpMethod.Get, GatewayInstance.IsoPath(mac));
            request.Headers.Range = new RangeHeaderValue(offset, end);
            using var response = await gateway.Client.SendAsync(request);
            response.EnsureSuccessStatusCode();
            (await response.Content.ReadAsByteArrayAsync()).CopyTo(result, offset);
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await Upstream.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    private static byte[] IsoWithMagic(int seed)
    {
        var bytes = new byte[(3 * ChunkSize) + (ChunkSize / 2)];
        new Random(seed).NextBytes(bytes);
        foreach (var offset in MagicOffsets)
        {
            Encoding.ASCII.GetBytes(Magic).CopyTo(bytes, offset);
        }

        return bytes;
    }

    private static string HardwareYaml(string ownSourceIso, string missingSourceIso) => $"""
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata:
          name: sm01
          namespace: tink-system
        spec:
          metadata:
            facility:
              facility_code: dc1-hall2
          interfaces:
            - dhcp:
                mac: "{OwnSourceMac}"
                hostname: sm01
                vlan_id: "400"
              isoboot:
                sourceISO: "{ownSourceIso}"
        ---
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata:
          name: sm02
        spec:
          metadata:
            facility:
              facility_code: "lab1 console=ttyS1,115200n8"
          interfaces:
            - dhcp:
                mac: "{DefaultSourceMac}"
                hostname: sm02
        ---
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata:
          name: sm03
        spec:
          interfaces:
            - dhcp:
                mac: "{MissingSourceMac}"
                hostname: sm03
              isoboot:
                sourceISO: "{missingSourceIso}"

        """;
}
