using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.Gateway.Hosting;
using IsoCluster.Grains.Hosting;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Serving;

/// <summary>
/// How the gateway behaves when the operator's configuration is incomplete or wrong: a start that fails naming the
/// setting, or requests answered with the status the issue names and a reason that says what is missing.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class GatewaySettingsTests
{
    private const string Mac = "02:00:00:00:00:01";

    [Fact]
    public async Task Get_NoHardwareSourceConfigured_Returns503NamingTheSetting()
    {
        await using var gateway = await GatewayInstance.StartAsync(["--iso-upstream-url", "http://127.0.0.1:9/hook.iso"]);

        using var response = await gateway.Client.GetAsync(GatewayInstance.IsoPath(Mac));

        await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.ServiceUnavailable, "--hardware-file");
    }

    [Fact]
    public async Task Get_NoSourceIsoAnywhere_Returns400NamingWhatIsMissing()
    {
        var hardware = Path.Combine(Directory.CreateTempSubdirectory("isocluster-settings-").FullName, "hardware.yaml");
        await File.WriteAllTextAsync(hardware, $"""
            apiVersion: tinkerbell.org/v1alpha1
            kind: Hardware
            metadata:
              name: no-source
            spec:
              interfaces:
                - dhcp:
                    mac: "{Mac}"
            """);
        try
        {
            await using var gateway = await GatewayInstance.StartAsync(["--hardware-file", hardware]);

            using var response = await gateway.Client.GetAsync(GatewayInstance.IsoPath(Mac));

            await IsoResponses.AssertOneLineErrorAsync(response, HttpStatusCode.BadRequest, "isoboot.sourceISO", "--iso-upstream-url", Mac);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(hardware)!, recursive: true);
        }
    }

    [Fact]
    public void Create_UnknownAndValuelessFlags_ThrowsNamingEachFlag()
    {
        var error = Assert.Throws<SettingsException>(() => GatewayApplication.Create(["--hardware-flie", "x.yaml", "--syslog-host"]));

        Assert.Contains(error.Problems, p => p.Contains("--hardware-flie", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("--syslog-host needs a value", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--cache-size", "12XB", "--cache-size")]
    [InlineData("--chunk-size", "1000", "--chunk-size")]
    [InlineData("--iso-upstream-url", "ftp://isos.example/hook.iso", "--iso-upstream-url")]
    [InlineData("--extra-kernel-args", "k=$x", "--extra-kernel-args")]
    [InlineData("--hardware-file", "/nonexistent/hardware.yaml", "--hardware-file")]
    [InlineData("--iso-patch-magic-string", "abcabcabcabcabcabc", "--iso-patch-magic-string")]
    [InlineData("--max-concurrent-requests", "0", "--max-concurrent-requests")]
    [InlineData("--max-concurrent-requests", "1000000", "--max-concurrent-requests")]
    [InlineData("--max-concurrent-requests", "lots", "--max-concurrent-requests")]
    [InlineData("--gateway-max-chunk-fetches", "0", "--gateway-max-chunk-fetches")]
    [InlineData("--gateway-max-chunk-fetches", "100000", "--gateway-max-chunk-fetches")]
    public async Task Start_InvalidSetting_FailsNamingTheFlag(string flag, string value, string named)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => GatewayInstance.StartAsync([flag, value]));

        var described = StartupErrors.Describe(error, GatewaySettings.All);
        Assert.NotNull(described);
        Assert.Contains(named, described, StringComparison.Ordinal);
    }
}
