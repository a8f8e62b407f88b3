using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Harness;

/// <summary>
/// What most end-to-end tests share, set up once: the boot ISO, a real upstream serving it, a Hardware file for
/// both test machines, and one gateway with an embedded silo serving them with the default 1 MiB chunks.
/// </summary>
/// <remarks>
/// The gateway allowlists four upstream prefixes for <c>?sourceISO=</c> (<c>files/</c>, <c>redirect/</c>,
/// <c>status/</c>, <c>norange/</c>) so tests can reach the upstream's misbehaviours through the query parameter;
/// every redirect hop stays inside the allowlist. Tests in the collection run one after another, so a test may
/// clear and then count the upstream's requests.
/// </remarks>
public sealed class BootIsoFixture : IAsyncLifetime
{
    /// <summary>The name of the boot ISO on the upstream.</summary>
    public const string IsoName = "hook.iso";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-e2e-");
    private readonly Dictionary<string, byte[]> _references = new(StringComparer.Ordinal);
    private Task<BootIsoImage>? _variant;

    public BootIsoImage Image { get; private set; } = null!;

    public UpstreamServer Upstream { get; private set; } = null!;

    public GatewayInstance Gateway { get; private set; } = null!;

    /// <summary>The upstream URL of the boot ISO.</summary>
    public string IsoUrl => Upstream.Url(IsoName);

    /// <summary>A scratch directory removed with the fixture.</summary>
    public string ScratchDirectory => _directory.FullName;

    /// <summary>The bytes <paramref name="mac"/> must receive for the boot ISO.</summary>
    public byte[] Reference(string mac) => _references[mac];

    /// <summary>
    /// A second version of the boot ISO: same layout and length, other filler bytes in every chunk. Built on first
    /// use (tests in the collection run one at a time) and not served until a test puts it on the upstream.
    /// </summary>
    public Task<BootIsoImage> VariantAsync() => _variant ??= Image.BuildVariantAsync(seed: 2, CancellationToken.None);

    public async Task InitializeAsync()
    {
        Image = await BootIsoImage.SharedAsync();
        AssertLayout(Image);
        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            _references[mac] = ReferencePatch.Apply(Image.Bytes, Image.Magic, TestMachines.KernelParams(mac));
        }

        Upstream = await UpstreamServer.StartAsync();
        Upstream.SetFile(IsoName, Image.Bytes);
        Gateway = await StartGatewayAsync(
            IsoName,
            "--iso-source-allow", Upstream.Url("", "files"),
            "--iso-source-allow", Upstream.Url("", "redirect"),
            "--iso-source-allow", Upstream.Url("", "status"),
            "--iso-source-allow", Upstream.Url("", "norange"),
            "--max-ranges", "16");
    }

    /// <summary>
    /// Starts another gateway (with its own embedded silo, so nothing is cached) for the ISO named
    /// <paramref name="isoName"/> on this fixture's upstream: machine 1 through its Hardware <c>sourceISO</c>, machine
    /// 2 through <c>--iso-upstream-url</c>, with the boot flags the expected parameters assume. The caller disposes it.
    /// </summary>
    public async Task<GatewayInstance> StartGatewayAsync(string isoName, params string[] extraArgs)
    {
        var hardwareFile = Path.Combine(ScratchDirectory, $"hardware-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: Upstream.Url(isoName)));
        return await GatewayInstance.StartAsync(
        [
            "--hardware-file", hardwareFile,
            "--iso-upstream-url", Upstream.Url(isoName),
            "--chunk-size", "1MiB",
            .. TestMachines.BootFlags,
            .. extraArgs,
        ]);
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

    // The point of the image is its edge cases; if xorriso ever lays it out differently the tests would silently
    // stop covering them, so the fixture refuses to start instead.
    private static void AssertLayout(BootIsoImage image)
    {
        const long chunk = BootIsoImage.ChunkSize;
        var magic = image.Magic.Length;
        Assert.Equal(3, image.Occurrences.Count);
        Assert.Equal(chunk, image.Occurrences[0] + magic);
        Assert.InRange(2 * chunk, image.Occurrences[1] + 1, image.Occurrences[1] + magic - 1);
        Assert.Equal(3 * chunk, image.Occurrences[2]);
        Assert.InRange(image.Bytes.Length, 5 * chunk, 8 * chunk);
        Assert.NotEqual(0, image.Bytes.Length % chunk);
    }
}

/// <summary>The tests sharing one <see cref="BootIsoFixture"/>; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class BootIsoDefinition : ICollectionFixture<BootIsoFixture>
{
    public const string Name = "Boot ISO";
}
