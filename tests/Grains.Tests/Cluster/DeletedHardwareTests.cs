using System.Globalization;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.Machines;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace IsoCluster.Grains.Tests.Cluster;

/// <summary>
/// A two-silo cluster whose Hardware comes from the (fake) Kubernetes API, each silo watching it for itself, with a
/// boot session short enough that "gone idle" happens within a test.
/// </summary>
public sealed class KubernetesHardwareClusterFixture : IAsyncLifetime
{
    /// <summary>How long a machine may pause between reads and still be in the same boot.</summary>
    public static readonly TimeSpan BootSessionIdle = TimeSpan.FromSeconds(3);

    private readonly string _directory = Directory.CreateTempSubdirectory("isocluster-k8s-grains-").FullName;

    public TestCluster Cluster { get; private set; } = null!;

    public FakeKubernetesApi Api { get; private set; } = null!;

    public UpstreamServer Upstream { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    /// <summary>The Hardware source of every silo.</summary>
    public IEnumerable<IHardwareSource> Sources =>
        Cluster.Silos.OfType<InProcessSiloHandle>().Select(silo => silo.SiloHost.Services.GetRequiredService<IHardwareSource>());

    public async Task InitializeAsync()
    {
        Api = await FakeKubernetesApi.StartAsync();
        Upstream = await UpstreamServer.StartAsync();
        Upstream.SetFile("hook.iso", GrainClusterFixture.Image(2, seed: 21));
        Upstream.SetFile("other.iso", GrainClusterFixture.Image(2, seed: 22));
        var kubeconfig = Api.WriteKubeconfig(Path.Combine(_directory, "kubeconfig"));

        var builder = new TestClusterBuilder(2);
        builder.ConfigureHostConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hardware:Source"] = "kubernetes",
            ["Hardware:Kubeconfig"] = kubeconfig,
            ["Iso:UpstreamUrl"] = Upstream.Url("hook.iso"),
            ["Iso:SourceAllow:0"] = Upstream.Url("", "files"),
            ["Iso:MagicString"] = GrainClusterFixture.Magic,
            ["Iso:BootSessionIdle"] = BootSessionIdle.ToString("c", CultureInfo.InvariantCulture),
            ["Cache:ChunkSize"] = GrainClusterFixture.ChunkSize.ToString(CultureInfo.InvariantCulture),
            ["Boot:SyslogHost"] = "10.0.0.1",
            ["Boot:TinkServerAddrPort"] = "10.0.0.1:42113",
        }));
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<GrainClusterFixture.ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        await Cluster.WaitForLivenessToStabilizeAsync();
        await EventuallyAsync(() => Task.FromResult(Sources.All(s => s.NotReadyReason is null)), TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Upstream.DisposeAsync();
        await Api.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Waits, at most <paramref name="within"/>, until every silo answers <paramref name="status"/> for <paramref name="mac"/>.</summary>
    public Task WaitForEverySiloAsync(string mac, HardwareLookupStatus status, TimeSpan within) =>
        EventuallyAsync(async () =>
        {
            foreach (var source in Sources)
            {
                if ((await source.FindAsync(MacAddress.Parse(mac), CancellationToken.None)).Status != status)
                {
                    return false;
                }
            }

            return true;
        }, within);

    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not true within {within}");
            await Task.Delay(20);
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddIsoClusterGrains(siloBuilder.Configuration);
    }
}

[CollectionDefinition(Name)]
public sealed class KubernetesHardwareClusterDefinition : ICollectionFixture<KubernetesHardwareClusterFixture>
{
    public const string Name = "Grain cluster with Hardware from Kubernetes";
}

/// <summary>
/// A deleted Hardware object makes its MACs unknown for new boots, while a boot in progress keeps the plan it pinned
/// until it has been idle for the boot session; a MAC that was never known still leaves no activation behind.
/// </summary>
[Collection(KubernetesHardwareClusterDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class DeletedHardwareTests(KubernetesHardwareClusterFixture fixture)
{
    private static readonly TimeSpan ChangeDeadline = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task GetBootPlanAsync_HardwareDeletedMidBoot_KeepsPinnedPlanUntilIdleThenNotFound()
    {
        const string mac = "02:00:00:00:10:01";
        await PutAsync("mid-boot", mac);
        var first = await Plan(mac);
        Assert.Equal(BootPlanStatus.Ready, first.Status);

        fixture.Api.Delete("tink", "mid-boot");
        await fixture.WaitForEverySiloAsync(mac, HardwareLookupStatus.NotFound, ChangeDeadline);

        // The boot goes on reading for longer than one idle period, never pausing that long.
        var reads = new List<BootPlanResult>();
        var until = DateTime.UtcNow + KubernetesHardwareClusterFixture.BootSessionIdle + TimeSpan.FromSeconds(1);
        while (DateTime.UtcNow < until)
        {
            reads.Add(await Plan(mac));
            await Task.Delay(KubernetesHardwareClusterFixture.BootSessionIdle / 6);
        }

        Assert.All(reads, read =>
        {
            Assert.Equal(BootPlanStatus.Ready, read.Status);
            Assert.Equal(first.Version!.Id, read.Version!.Id);
            Assert.Equal(first.Plan!.PatchTag, read.Plan!.PatchTag);
        });

        await Task.Delay(KubernetesHardwareClusterFixture.BootSessionIdle + TimeSpan.FromMilliseconds(500));
        var nextBoot = await Plan(mac);
        Assert.Equal(BootPlanStatus.HardwareNotFound, nextBoot.Status);
        Assert.Contains(mac, nextBoot.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetBootPlanAsync_HardwareDeletedBetweenBoots_IsNotFoundAtOnce()
    {
        const string mac = "02:00:00:00:10:02";
        await PutAsync("between-boots", mac);
        var first = await Plan(mac);

        // The boot ended: the upstream changed under it and the gateway released its version.
        await fixture.Grains.GetGrain<IMachineGrain>(mac).ReleaseVersionAsync(first.Version!.Id);
        fixture.Api.Delete("tink", "between-boots");
        await fixture.WaitForEverySiloAsync(mac, HardwareLookupStatus.NotFound, ChangeDeadline);

        Assert.Equal(BootPlanStatus.HardwareNotFound, (await Plan(mac)).Status);
    }

    [Fact]
    public async Task GetBootPlanAsync_HardwareDeletedMidBootAndAnotherSourceAsked_IsNotFound()
    {
        const string mac = "02:00:00:00:10:03";
        await PutAsync("other-source", mac);
        Assert.Equal(BootPlanStatus.Ready, (await Plan(mac)).Status);

        fixture.Api.Delete("tink", "other-source");
        await fixture.WaitForEverySiloAsync(mac, HardwareLookupStatus.NotFound, ChangeDeadline);

        // Another source is another boot, and a new boot of an unknown MAC is a 404.
        var other = await Plan(mac, fixture.Upstream.Url("other.iso"));
        Assert.Equal(BootPlanStatus.HardwareNotFound, other.Status);
    }

    [Fact]
    public async Task GetBootPlanAsync_MacNeverKnown_IsNotFoundAndLeavesNoActivation()
    {
        const string mac = "02:00:00:00:10:99";

        var result = await Plan(mac);

        Assert.Equal(BootPlanStatus.HardwareNotFound, result.Status);
        var grainId = fixture.Grains.GetGrain<IMachineGrain>(mac).GetGrainId();
        var management = fixture.Grains.GetGrain<IManagementGrain>(0);
        await KubernetesHardwareClusterFixture.EventuallyAsync(
            async () => !(await management.GetDetailedGrainStatistics()).Any(s => s.GrainId == grainId),
            TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task GetBootPlanAsync_HardwareAddedInTheApi_IsServedWithinTwoSeconds()
    {
        const string mac = "02:00:00:00:10:04";
        Assert.Equal(BootPlanStatus.HardwareNotFound, (await Plan(mac)).Status);

        fixture.Api.Put(FakeKubernetesApi.Hardware("tink", "late", mac, facility: "late"));

        await KubernetesHardwareClusterFixture.EventuallyAsync(async () => (await Plan(mac)).Status == BootPlanStatus.Ready, ChangeDeadline);
    }

    private async Task PutAsync(string name, string mac)
    {
        fixture.Api.Put(FakeKubernetesApi.Hardware("tink", name, mac));
        await fixture.WaitForEverySiloAsync(mac, HardwareLookupStatus.Found, ChangeDeadline);
    }

    private Task<BootPlanResult> Plan(string mac, string? sourceIso = null) =>
        fixture.Grains.GetGrain<IMachineGrain>(mac).GetBootPlanAsync(sourceIso).AsTask();
}
