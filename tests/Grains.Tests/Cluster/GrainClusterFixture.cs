using System.Text;
using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.SourceIso;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace IsoCluster.Grains.Tests.Cluster;

/// <summary>
/// A two-silo test cluster hosting the IsoCluster grains, a real upstream on loopback and a Hardware file,
/// shared by the grain tests. Small chunks and a small cache make chunk edges and eviction cheap to reach.
/// </summary>
public sealed class GrainClusterFixture : IAsyncLifetime
{
    // Long enough for real kernel parameters; its first letter occurs nowhere else, so it cannot overlap itself.
    public static readonly string Magic = "Z" + string.Concat(Enumerable.Repeat("isocluster-test-magic-0123456789-", 13))[..399];
    public const int ChunkSize = 64 * 1024;
    public const int CacheChunks = 3;
    public const string KnownMac = "aa:bb:cc:00:00:01";
    public const string OwnSourceMac = "aa:bb:cc:00:00:02";
    public const string UnsafeMac = "aa:bb:cc:00:00:03";
    public const string EditedMac = "aa:bb:cc:00:00:04";

    private readonly string _directory = Directory.CreateTempSubdirectory("isocluster-grains-").FullName;

    public TestCluster Cluster { get; private set; } = null!;

    public UpstreamServer Upstream { get; private set; } = null!;

    public string HardwareFile => Path.Combine(_directory, "hardware.yaml");

    public IGrainFactory Grains => Cluster.GrainFactory;

    /// <summary>An ISO-like image of <paramref name="chunks"/> chunks with the magic string across the first chunk edge.</summary>
    public static byte[] Image(int chunks, int seed)
    {
        var image = IsoImageBuilder.Filler(chunks * ChunkSize, seed);
        Encoding.ASCII.GetBytes(Magic).CopyTo(image, ChunkSize - 10);
        return image;
    }

    public async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Upstream.SetFile("hook.iso", Image(12, seed: 1));
        Upstream.SetFile("other.iso", Image(2, seed: 8));
        await File.WriteAllTextAsync(HardwareFile, HardwareYaml(facility: "lab"));

        var builder = new TestClusterBuilder(2);
        builder.ConfigureHostConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hardware:File"] = HardwareFile,
            ["Hardware:PollInterval"] = "00:00:00.200",
            ["Iso:UpstreamUrl"] = Upstream.Url("hook.iso"),
            ["Iso:SourceAllow:0"] = Upstream.Url("", "files"),
            ["Iso:MagicString"] = Magic,
            ["Cache:ChunkSize"] = ChunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Cache:Size"] = (CacheChunks * (ChunkSize + 2 * Magic.Length)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Boot:SyslogHost"] = "10.0.0.1",
            ["Boot:TinkServerAddrPort"] = "10.0.0.1:42113",
        }));
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();

        // Until membership settles, a grain can briefly have an activation on each silo; tests want one.
        await Cluster.WaitForLivenessToStabilizeAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Upstream.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>The chunk budgets of every silo, to check memory stays bounded.</summary>
    public IEnumerable<ChunkMemoryBudget> Budgets() =>
        Cluster.Silos.OfType<InProcessSiloHandle>().Select(silo => silo.SiloHost.Services.GetRequiredService<ChunkMemoryBudget>());

    public async Task<IsoVersion> VersionAsync(string fileName)
    {
        var source = new IsoSource(Upstream.Url(fileName), IsoSourceOrigin.Operator);
        var result = await Grains.GetGrain<ISourceIsoGrain>(source.GrainKey).GetVersionAsync();
        Assert.Equal(UpstreamStatus.Ok, result.Status);
        return result.Version!;
    }

    public string HardwareYaml(string facility) => $$"""
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata: {name: known}
        spec:
          metadata:
            facility:
              facility_code: {{facility}}
          interfaces:
            - dhcp: {mac: "{{KnownMac}}", vlan_id: "7"}
        ---
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata: {name: own-source}
        spec:
          interfaces:
            - dhcp: {mac: "{{OwnSourceMac}}"}
              isoboot: {sourceISO: "{{Upstream.Url("other.iso")}}"}
        ---
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata: {name: unsafe}
        spec:
          interfaces:
            - dhcp: {mac: "{{UnsafeMac}}", hostname: "a;reboot"}
        ---
        apiVersion: tinkerbell.org/v1alpha1
        kind: Hardware
        metadata: {name: edited}
        spec:
          metadata:
            facility:
              facility_code: {{facility}}
          interfaces:
            - dhcp: {mac: "{{EditedMac}}"}
        """;

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddIsoClusterGrains(siloBuilder.Configuration);
    }

    /// <summary>A test cluster's client, which reads chunk grains as a client-mode gateway does.</summary>
    internal sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) => clientBuilder.AddIsoClusterSerialization();
    }
}

[CollectionDefinition(Name)]
public sealed class GrainClusterDefinition : ICollectionFixture<GrainClusterFixture>
{
    public const string Name = "Grain cluster";
}
