using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Admin;

/// <summary>
/// <c>GET /api/explain/{mac}</c> on a real embedded gateway: the command line it explains is byte for byte what the
/// machine reads where the magic string was, and each part names where it came from.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ExplainTests : IAsyncLifetime
{
    private AdminTestBed _bed = null!;

    public async Task InitializeAsync() => _bed = await AdminTestBed.StartAsync();

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    [Theory]
    [InlineData(AdminTestBed.OwnSourceMac)]
    [InlineData(AdminTestBed.DefaultSourceMac)]
    public async Task Explain_CommandLine_IsWhatTheMachineReadsAtEveryMagicString(string mac)
    {
        await using var gateway = await _bed.StartGatewayAsync(true, "--tink-server-use-tls", "--extra-kernel-args", "k1=v1  k2=v2");
        using var admin = AdminTestBed.AdminClient(gateway, token: null);

        var explained = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/explain/{mac.ToUpperInvariant()}", UriKind.Relative))).RootElement;
        var commandLine = explained.GetProperty("kernelCommandLine").GetString()!;

        foreach (var offset in AdminTestBed.MagicOffsets)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, GatewayInstance.IsoPath(mac));
            request.Headers.Range = new RangeHeaderValue(offset, offset + AdminTestBed.Magic.Length - 1);
            using var response = await gateway.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(commandLine.PadRight(AdminTestBed.Magic.Length, ' '), Encoding.ASCII.GetString(await response.Content.ReadAsByteArrayAsync()));
        }

        var parts = explained.GetProperty("parts").EnumerateArray().ToArray();
        Assert.Equal(commandLine, string.Join(' ', parts.Select(p => p.GetProperty("text").GetString())));
        Assert.Equal(mac, explained.GetProperty("mac").GetString());
        Assert.Equal(AdminTestBed.Magic.Length, explained.GetProperty("magicStringLength").GetInt32());
        Assert.Equal(_bed.Upstream.Url(AdminTestBed.SourceNameOf(mac)), explained.GetProperty("sourceIso").GetString());
        Assert.Equal(
            mac == AdminTestBed.OwnSourceMac ? "Hardware spec.interfaces[0].isoboot.sourceISO" : "--iso-upstream-url",
            explained.GetProperty("sourceIsoFrom").GetString());
        Assert.False(explained.TryGetProperty("error", out _));

        AssertPart(parts, "k1=v1", "flag", "--extra-kernel-args");
        AssertPart(parts, "k2=v2", "flag", "--extra-kernel-args");
        AssertPart(parts, $"hw_addr={mac}", "hardware", "spec.interfaces[0].dhcp.mac");
        AssertPart(parts, $"syslog_host={AdminTestBed.SyslogHost}", "flag", "--syslog-host");
        AssertPart(parts, "grpc_authority=", "default", "--tink-server-addr-port");
        AssertPart(parts, "tinkerbell_tls=true", "flag", "--tink-server-use-tls");
        if (mac == AdminTestBed.OwnSourceMac)
        {
            Assert.Equal("tink-system/sm01", explained.GetProperty("hardware").GetString());
            AssertPart(parts, "facility=dc1-hall2", "hardware", "spec.metadata.facility.facility_code");
            AssertPart(parts, "console=ttyS0", "default", "spec.metadata.facility.facility_code");
            AssertPart(parts, "vlan_id=400", "hardware", "spec.interfaces[0].dhcp.vlan_id");
        }
        else
        {
            Assert.Equal("sm02", explained.GetProperty("hardware").GetString());
            AssertPart(parts, "console=ttyS1,115200n8", "hardware", "spec.metadata.facility.facility_code");
            Assert.DoesNotContain(parts, p => p.GetProperty("text").GetString() == "console=ttyS0");
        }
    }

    [Theory]
    [InlineData(AdminTestBed.UnknownMac, HttpStatusCode.NotFound, "no Hardware")]
    [InlineData("b4:96:91:6e:2c", HttpStatusCode.BadRequest, "is not a MAC address")]
    [InlineData("zz:96:91:6e:2c:10", HttpStatusCode.BadRequest, "is not a MAC address")]
    public async Task Explain_UnknownOrBadMac_ReturnsOneLineReason(string mac, HttpStatusCode status, string reason)
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway, token: null);

        using var response = await admin.GetAsync(new Uri($"api/explain/{mac}", UriKind.Relative));

        Assert.Equal(status, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public async Task Explain_RefusedValue_ShowsThePartsAndTheError()
    {
        // Bad settings stop the gateway at start; a bad Hardware value only stops its machine, which explain then shows.
        await File.WriteAllTextAsync(_bed.HardwareFile, $"""
            apiVersion: tinkerbell.org/v1alpha1
            kind: Hardware
            metadata:
              name: sm02
            spec:
              metadata:
                facility:
                  facility_code: "lab1 b=$(reboot)"
              interfaces:
                - dhcp:
                    mac: "{AdminTestBed.DefaultSourceMac}"

            """);
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway, token: null);

        var explained = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/explain/{AdminTestBed.DefaultSourceMac}", UriKind.Relative))).RootElement;

        Assert.False(explained.TryGetProperty("kernelCommandLine", out _));
        Assert.Contains("spec.metadata.facility.facility_code", explained.GetProperty("error").GetString(), StringComparison.Ordinal);
        AssertPart(explained.GetProperty("parts").EnumerateArray().ToArray(), "b=$(reboot)", "hardware", "spec.metadata.facility.facility_code");
    }

    private static void AssertPart(JsonElement[] parts, string text, string from, string setting)
    {
        var part = Assert.Single(parts, p => p.GetProperty("text").GetString() == text);
        Assert.Equal(from, part.GetProperty("from").GetString());
        Assert.Equal(setting, part.GetProperty("setting").GetString());
    }
}
