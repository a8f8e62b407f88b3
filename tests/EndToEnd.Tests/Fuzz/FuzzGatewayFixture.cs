using System.Net;
using System.Text;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.Grains.SourceIso;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Fuzz;

/// <summary>
/// A gateway for fuzzing: a small ISO (so thousands of whole-ISO answers stay cheap) in 64 KiB chunks, one
/// magic-string occurrence straddling a chunk boundary and one inside a chunk, both test machines, and an allowlist
/// for <c>?sourceISO=</c> that admits only the ISO's own directory on the upstream.
/// </summary>
public sealed class FuzzGatewayFixture : IAsyncLifetime
{
    /// <summary>The chunk size the gateway is started with.</summary>
    public const int ChunkSize = 64 * 1024;

    private const string IsoName = "fuzz.iso";
    private const int IsoLength = 200_003;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-fuzz-");
    private readonly Dictionary<string, byte[]> _references = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _etags = new(StringComparer.Ordinal);

    public UpstreamServer Upstream { get; private set; } = null!;

    public GatewayInstance Gateway { get; private set; } = null!;

    /// <summary>The length of the ISO.</summary>
    public long Length { get; private set; }

    /// <summary>The upstream's Last-Modified, as the gateway sends it.</summary>
    public DateTimeOffset LastModified { get; private set; }

    /// <summary>The allowlisted URL of the ISO, for <c>?sourceISO=</c>.</summary>
    public string SourceIsoUrl => Upstream.Url(IsoName);

    /// <summary>The directory holding the Hardware file: no response may name it.</summary>
    public string ServerDirectory => _directory.FullName;

    /// <summary>The bytes <paramref name="mac"/> must receive.</summary>
    public byte[] Reference(string mac) => _references[mac];

    /// <summary>The ETag of <paramref name="mac"/>'s ISO (read without <c>?sourceISO=</c>).</summary>
    public string ETag(string mac) => _etags[mac];

    public async Task InitializeAsync()
    {
        var magic = IsoOptions.HookOsMagicString;
        var bytes = IsoImageBuilder.Filler(IsoLength, seed: 91);
        Length = bytes.Length;
        Encoding.ASCII.GetBytes(magic).CopyTo(bytes, ChunkSize - 300);
        Encoding.ASCII.GetBytes(magic).CopyTo(bytes, 150_000);
        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            _references[mac] = ReferencePatch.Apply(bytes, magic, TestMachines.KernelParams(mac));
        }

        Upstream = await UpstreamServer.StartAsync();
        Upstream.SetFile(IsoName, bytes);
        var hardwareFile = Path.Combine(_directory.FullName, "hardware.yaml");
        await File.WriteAllTextAsync(hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: SourceIsoUrl));
        Gateway = await GatewayInstance.StartAsync(
        [
            "--hardware-file", hardwareFile,
            "--iso-upstream-url", SourceIsoUrl,
            "--iso-source-allow", Upstream.Url("", "files"),
            "--chunk-size", "64KiB",
            .. TestMachines.BootFlags,
        ]);

        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            using var head = await IsoResponses.SendAsync(Gateway.Client, HttpMethod.Head, GatewayInstance.IsoPath(mac));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            _etags[mac] = head.Headers.ETag!.ToString();
            LastModified = head.Content.Headers.LastModified ?? throw new InvalidOperationException("The ISO has no Last-Modified.");
        }
    }

    public async Task DisposeAsync()
    {
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
}
