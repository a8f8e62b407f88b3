using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Faults;

/// <summary>
/// A fault-injecting origin serving the boot ISO, and one gateway (embedded silo, 1 MiB chunks, default upstream retry
/// settings) that may fetch from it through <c>?sourceISO=</c>. Each test publishes its ISO under a name of its own, so
/// it starts from a cold cache and its scripted faults touch nobody else's fetches.
/// </summary>
public sealed class FaultsFixture : IAsyncLifetime
{
    private static readonly DateTimeOffset Version1Date = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-faults-");
    private Task<BootIsoImage>? _variant;

    public BootIsoImage Image { get; private set; } = null!;

    public FaultyOrigin Origin { get; private set; } = null!;

    public GatewayInstance Gateway { get; private set; } = null!;

    /// <summary>What machine 2 must receive for the boot ISO.</summary>
    public byte[] Reference { get; private set; } = null!;

    /// <summary>A second version of the boot ISO: same layout and length, other filler.</summary>
    public Task<BootIsoImage> VariantAsync() => _variant ??= Image.BuildVariantAsync(seed: 3, CancellationToken.None);

    public async Task InitializeAsync()
    {
        Image = await BootIsoImage.SharedAsync();
        Reference = Patched(Image.Bytes);
        Origin = await FaultyOrigin.StartAsync();
        Gateway = await StartGatewayAsync(Origin);
    }

    /// <summary>What machine 2 must receive for an ISO of <paramref name="bytes"/>.</summary>
    public byte[] Patched(byte[] bytes) => ReferencePatch.Apply(bytes, Image.Magic, TestMachines.KernelParams(TestMachines.Mac2));

    /// <summary>Publishes the boot ISO under a fresh name and returns that name.</summary>
    public string PublishBootIso(string what, OriginValidators validators = OriginValidators.ETagAndLastModified, bool honourPreconditions = true, FaultyOrigin? origin = null)
    {
        var name = $"{what}-{Guid.NewGuid():N}.iso";
        (origin ?? Origin).Publish(name, Image.Bytes, Version1Date, validators, honourPreconditions);
        return name;
    }

    /// <summary>Machine 2's path for the ISO <paramref name="name"/> on <paramref name="origin"/> (this fixture's by default).</summary>
    public string PathOf(string name, FaultyOrigin? origin = null) =>
        GatewayInstance.IsoPath(TestMachines.Mac2, sourceIso: (origin ?? Origin).Url(name));

    /// <summary>
    /// A gateway of its own for <paramref name="origin"/>, with <paramref name="extraArgs"/>, warmed up by one whole boot
    /// of a file of its own; the caller disposes it.
    /// </summary>
    public async Task<GatewayInstance> StartGatewayAsync(FaultyOrigin origin, params string[] extraArgs)
    {
        var hardwareFile = Path.Combine(_directory.FullName, $"hardware-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(hardwareFile, TestMachines.HardwareYaml(mac1SourceIso: origin.Url("hook.iso")));
        var gateway = await GatewayInstance.StartAsync(
        [
            "--hardware-file", hardwareFile,
            "--iso-source-allow", origin.Prefix,
            "--chunk-size", "1MiB",
            .. TestMachines.BootFlags,
            .. extraArgs,
        ]);
        try
        {
            await WarmUpAsync(gateway, origin);
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    // A process's first reads pay for JIT compilation and the first activations of every grain type, and on a busy
    // two-core machine that alone has passed the gateway's 3.5 s deadline. The tests measure faults, not a cold start.
    private async Task WarmUpAsync(GatewayInstance gateway, FaultyOrigin origin)
    {
        var name = PublishBootIso("warm-up", origin: origin);
        var stopAt = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var outcome = "";
        while (DateTime.UtcNow < stopAt)
        {
            try
            {
                using var response = await gateway.Client.GetAsync(PathOf(name, origin));
                var body = await response.Content.ReadAsByteArrayAsync();
                if (response.IsSuccessStatusCode && ReferencePatch.FirstDifference(body, Reference) < 0)
                {
                    return;
                }

                outcome = $"{(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                outcome = ex.Message;
            }
        }

        throw new InvalidOperationException($"The gateway never served a whole boot: {outcome}");
    }

    public async Task DisposeAsync()
    {
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        if (Origin is not null)
        {
            await Origin.DisposeAsync();
        }

        _directory.Delete(recursive: true);
    }
}

/// <summary>The fault tests sharing one <see cref="FaultsFixture"/>; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class FaultsDefinition : ICollectionFixture<FaultsFixture>
{
    public const string Name = "Faults";
}
