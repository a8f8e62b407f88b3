using System.Globalization;
using System.Net;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Machines;

/// <summary>
/// DESIGN invariant 2: parameters longer than the magic string are an error reported to the operator (a 500 naming
/// the MAC and both lengths, and an Error log line), never truncated and never written past the placeholder.
/// </summary>
[Collection(BootIsoDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class KernelParamsTooLongTests(BootIsoFixture fixture)
{
    // 40 characters, no proper prefix equal to a suffix (the gateway refuses self-overlapping placeholders).
    private const string ShortMagic = "ISOCLUSTER_SHORT_MAGIC_0123456789ABCDEFG";

    [Fact]
    public async Task Get_ParamsLongerThanMagicString_Returns500NamingMacAndLengthsAndLogsError()
    {
        Assert.Equal(40, ShortMagic.Length);
        var mac = TestMachines.Mac1;
        var paramsLength = TestMachines.KernelParams(mac).Length;
        var image = await new IsoImageBuilder()
            .AddTextFile(BootIsoImage.GrubCfgPath, "menuentry 'HookOS' {\n" + BootIsoImage.GrubLinuxPrefix + ShortMagic + "\n}\n")
            .BuildAsync(Path.Combine(fixture.ScratchDirectory, "short-magic.iso"), CancellationToken.None);
        fixture.Upstream.SetFile("short-magic.iso", await File.ReadAllBytesAsync(image));
        await using var gateway = await fixture.StartGatewayAsync("short-magic.iso", "--iso-patch-magic-string", ShortMagic);

        using var get = await gateway.Client.GetAsync(GatewayInstance.IsoPath(mac));
        using var ranged = await IsoResponses.GetRangeAsync(gateway.Client, GatewayInstance.IsoPath(mac), "bytes=0-99");

        var lengths = new[] { paramsLength.ToString(CultureInfo.InvariantCulture), "40" };
        await IsoResponses.AssertOneLineErrorAsync(get, HttpStatusCode.InternalServerError, [mac, .. lengths]);
        await IsoResponses.AssertOneLineErrorAsync(ranged, HttpStatusCode.InternalServerError, [mac, .. lengths]);
        Assert.True(
            gateway.Log.ErrorsContaining(mac, lengths[0], lengths[1]).Count > 0,
            $"No Error log naming {mac} and both lengths:{Environment.NewLine}{gateway.Log.Describe()}");
    }
}
