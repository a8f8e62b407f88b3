using System.Globalization;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.FirstRun;

/// <summary>
/// DESIGN invariant 9: a relative path (Hardware file, TLS files, a source ISO on disk, on the command line or in
/// configuration) means the directory the user ran the command from. The built gateway runs as its own process with
/// that directory as its working directory, as a published binary would.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class RelativePathTests : IAsyncLifetime
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("isocluster-relative-");
    private BootIsoImage _image = null!;

    public async Task InitializeAsync()
    {
        _image = await BootIsoImage.SharedAsync();
        Directory.CreateDirectory(Path.Combine(_work.FullName, "hw"));
        Directory.CreateDirectory(Path.Combine(_work.FullName, "isos"));
        Directory.CreateDirectory(Path.Combine(_work.FullName, "tls"));
        await File.WriteAllBytesAsync(Path.Combine(_work.FullName, "isos", "hook.iso"), _image.Bytes);

        // Machine 1 names its source ISO by a relative path too; machine 2 boots the default.
        await File.WriteAllTextAsync(Path.Combine(_work.FullName, "hw", "hardware.yaml"), TestMachines.HardwareYaml("isos/hook.iso"));
        var (certificate, key) = TestCertificate.WritePem(Path.Combine(_work.FullName, "tls"));
        Assert.True(File.Exists(certificate) && File.Exists(key));
    }

    public Task DisposeAsync()
    {
        _work.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Gateway_RelativePathFlags_ResolveAgainstItsWorkingDirectory()
    {
        var port = FreePorts.Next();
        await using var gateway = StartGateway(
            [
                "--urls", $"https://127.0.0.1:{port}",
                "--hardware-file", "hw/hardware.yaml",
                "--iso-upstream-url", "isos/hook.iso",
                "--tls-cert-file", "tls/gateway.crt",
                "--tls-key-file", "tls/gateway.key",
                .. TestMachines.BootFlags,
            ]);

        await AssertServesBothMachinesAsync(gateway, new Uri($"https://127.0.0.1:{port}/"));
    }

    [Fact]
    public async Task Gateway_RelativePathsInConfiguration_ResolveAgainstItsWorkingDirectory()
    {
        var port = FreePorts.Next();
        await using var gateway = StartGateway(
            ["--urls", $"https://127.0.0.1:{port}", .. TestMachines.BootFlags],
            new Dictionary<string, string>
            {
                ["Hardware__File"] = "hw/hardware.yaml",
                ["Iso__UpstreamUrl"] = "isos/hook.iso",
                ["Kestrel__Certificates__Default__Path"] = "tls/gateway.crt",
                ["Kestrel__Certificates__Default__KeyPath"] = "tls/gateway.key",
            });

        await AssertServesBothMachinesAsync(gateway, new Uri($"https://127.0.0.1:{port}/"));
    }

    [Fact]
    public async Task Gateway_MissingRelativeFile_StartupErrorNamesItsFullPath()
    {
        await using var gateway = StartGateway(["--urls", $"http://127.0.0.1:{FreePorts.Next()}", "--hardware-file", "hw/missing.yaml"]);

        Assert.True(await gateway.WaitForExitAsync(TimeSpan.FromMinutes(1)), gateway.Output);
        Assert.Equal(2, gateway.ExitCode);
        Assert.Contains($"'{Path.Combine(_work.FullName, "hw", "missing.yaml")}' does not exist", gateway.Output, StringComparison.Ordinal);
    }

    private ServiceProcess StartGateway(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        ServiceProcess.Start(
            "gateway",
            "dotnet",
            [Path.Combine(AppContext.BaseDirectory, "IsoCluster.Gateway.dll"), "--orleans-silo-port", FreePorts.Next().ToString(CultureInfo.InvariantCulture),
                "--orleans-gateway-port", FreePorts.Next().ToString(CultureInfo.InvariantCulture), "--admin-urls", "http://127.0.0.1:0", .. args],
            _work.FullName,
            environment);

    private async Task AssertServesBothMachinesAsync(ServiceProcess gateway, Uri baseAddress)
    {
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress };
        await gateway.WaitForHttpAsync(new Uri(baseAddress, $"iso/{TestMachines.Mac2}/hook.iso"), TimeSpan.FromMinutes(1), client: client);
        foreach (var mac in new[] { TestMachines.Mac1, TestMachines.Mac2 })
        {
            var expected = ReferencePatch.Apply(_image.Bytes, _image.Magic, TestMachines.KernelParams(mac));
            var body = await client.GetByteArrayAsync(new Uri($"iso/{mac}/hook.iso", UriKind.Relative));
            Assert.True(ReferencePatch.FirstDifference(body, expected) == -1, $"{mac}: bytes differ from the reference; gateway output:\n{gateway.Output}");
        }
    }
}
