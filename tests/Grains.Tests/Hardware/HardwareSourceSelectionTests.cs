using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Hardware.Kubernetes;
using IsoCluster.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Tests.Hardware;

/// <summary>--hardware-source picks the source; every misconfiguration is a startup error naming the flag.</summary>
public sealed class HardwareSourceSelectionTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-hwsource-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task AddHardwareSource_SourceKubernetes_ResolvesTheKubernetesSourceAsTheOneHostedService()
    {
        var kubeconfig = Touch("kubeconfig");
        await using var provider = Services(o =>
        {
            o.Source = "Kubernetes";
            o.Kubeconfig = kubeconfig;
        });

        var source = provider.GetRequiredService<IHardwareSource>();

        Assert.IsType<KubernetesHardwareSource>(source);
        Assert.Same(source, Assert.Single(provider.GetServices<IHostedService>()));
    }

    [Fact]
    public async Task AddHardwareSource_CalledTwice_RegistersOneHostedService()
    {
        var services = new ServiceCollection().AddLogging().AddHardwareSource().AddHardwareSource();
        await using var provider = services.BuildServiceProvider();

        Assert.IsType<HardwareFileSource>(Assert.Single(provider.GetServices<IHostedService>()));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("FILE")]
    public async Task AddHardwareSource_SourceFileOrUnset_ResolvesTheFileSource(string? source)
    {
        await using var provider = Services(o => o.Source = source!);

        Assert.IsType<HardwareFileSource>(provider.GetRequiredService<IHardwareSource>());
    }

    [Theory]
    [InlineData("nfs", null, null, null, "--hardware-source (Hardware:Source): 'nfs' is not a Hardware source; expected file or kubernetes")]
    [InlineData("kubernetes", "hardware.yaml", null, null, "--hardware-file (Hardware:File) is read only with --hardware-source file")]
    [InlineData("kubernetes", null, "Tink_System", null, "--hardware-namespace (Hardware:Namespace): 'Tink_System' is not a namespace name")]
    [InlineData("kubernetes", null, null, "missing-kubeconfig", "--kubeconfig (Hardware:Kubeconfig): '")]
    [InlineData("file", null, null, "kubeconfig", "--kubeconfig (Hardware:Kubeconfig) is used only with --hardware-source kubernetes")]
    [InlineData("file", null, "tink", null, "--hardware-namespace (Hardware:Namespace) is used only with --hardware-source kubernetes")]
    public async Task Validate_Misconfiguration_FailsNamingTheFlag(string source, string? file, string? @namespace, string? kubeconfig, string expected)
    {
        var existing = Touch("kubeconfig");
        var hardware = Touch("hardware.yaml");
        await using var provider = Services(o =>
        {
            o.Source = source;
            o.File = file is null ? null : hardware;
            o.Namespace = @namespace;
            o.Kubeconfig = kubeconfig switch
            {
                null => null,
                "kubeconfig" => existing,
                _ => Path.Combine(_directory.FullName, kubeconfig),
            };
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IHardwareSource>());

        Assert.Contains(error.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validate_SeveralProblems_ReportsEveryOne()
    {
        await using var provider = Services(o =>
        {
            o.Source = "kubernetes";
            o.Namespace = "-bad";
            o.Kubeconfig = "/nonexistent/kubeconfig";
            o.ListPageSize = 0;
            o.RetryInitialDelay = TimeSpan.Zero;
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HardwareOptions>>().Value);

        Assert.Equal(4, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.Contains("Hardware:RetryInitialDelay", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Hardware:ListPageSize", StringComparison.Ordinal));
    }

    [Fact]
    public void SiloSettings_KubernetesFlags_AreSettingsWithTheirKeys()
    {
        var parsed = CommandLine.Parse(
            ["--hardware-source", "kubernetes", "--hardware-namespace", "tink-system", "--kubeconfig", "kube.yaml"], SiloSettings.All, []);

        Assert.Empty(parsed.Errors);
        Assert.Equal("kubernetes", parsed.Values["Hardware:Source"]);
        Assert.Equal("tink-system", parsed.Values["Hardware:Namespace"]);
        Assert.Equal("kube.yaml", parsed.Values["Hardware:Kubeconfig"]);
        Assert.Equal(SettingKind.Path, Assert.Single(SiloSettings.All, s => s.Flag == "kubeconfig").Kind);
        Assert.Equal("file", Assert.Single(SiloSettings.All, s => s.Flag == "hardware-source").Default);
    }

    private string Touch(string name)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, "");
        return path;
    }

    private static ServiceProvider Services(Action<HardwareOptions> configure) =>
        new ServiceCollection().AddLogging().Configure(configure).AddHardwareSource().BuildServiceProvider();
}
