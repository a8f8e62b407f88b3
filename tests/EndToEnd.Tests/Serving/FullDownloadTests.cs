using System.Net;
using System.Text;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Serving;

/// <summary>
/// A whole download is the reference patch, and is still an ISO a boot loader can read: xorriso opens it and the
/// boot configs carry the machine's parameters where the placeholder was.
/// </summary>
[Collection(BootIsoDefinition.Name)]
[Trait("Category", "EndToEnd")]
public sealed class FullDownloadTests(BootIsoFixture fixture)
{
    [Theory]
    [MemberData(nameof(TestMachines.Macs), MemberType = typeof(TestMachines))]
    public async Task Get_WithoutRange_Returns200WithReferencePatch(string mac)
    {
        // RFC 9110 §15.3.1: 200 with the whole representation; §8.6: Content-Length.
        using var response = await fixture.Gateway.Client.GetAsync(GatewayInstance.IsoPath(mac));
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        IsoResponses.AssertFramed(response);
        Assert.Equal(fixture.Image.Bytes.Length, response.Content.Headers.ContentLength);
        Assert.Null(response.Content.Headers.ContentRange);
        Assert.Equal(-1, ReferencePatch.FirstDifference(body, fixture.Reference(mac)));
    }

    [Theory]
    [MemberData(nameof(TestMachines.Macs), MemberType = typeof(TestMachines))]
    public async Task Get_DownloadedIso_OpensWithXorrisoAndBootConfigsHoldParameters(string mac)
    {
        var expectedParams = TestMachines.KernelParams(mac);
        var padded = ReferencePatch.Pad(expectedParams, fixture.Image.Magic);
        var isoPath = Path.Combine(fixture.ScratchDirectory, $"download-{mac.Replace(':', '-')}.iso");
        using (var response = await fixture.Gateway.Client.GetAsync(GatewayInstance.IsoPath(mac), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var file = File.Create(isoPath);
            await response.Content.CopyToAsync(file);
        }

        try
        {
            var grub = Encoding.ASCII.GetString(await IsoImageBuilder.ExtractFileAsync(isoPath, BootIsoImage.GrubCfgPath, CancellationToken.None));
            var linuxLines = grub.Split('\n').Where(line => line.StartsWith(BootIsoImage.GrubLinuxPrefix, StringComparison.Ordinal)).ToList();
            var linux = Assert.Single(linuxLines);
            var arguments = linux[BootIsoImage.GrubLinuxPrefix.Length..];

            // The parameters exactly, then only the spaces that pad them to the placeholder's length.
            Assert.Equal(fixture.Image.Magic.Length, arguments.Length);
            Assert.Equal(expectedParams, arguments.TrimEnd(' '));
            Assert.Equal(padded, arguments);

            // Every config file is its original text with the placeholder replaced, and nothing else changed.
            foreach (var (pathInIso, original) in fixture.Image.ConfigFiles)
            {
                var extracted = Encoding.ASCII.GetString(await IsoImageBuilder.ExtractFileAsync(isoPath, pathInIso, CancellationToken.None));
                Assert.Equal(original.Replace(fixture.Image.Magic, padded, StringComparison.Ordinal), extracted);
            }
        }
        finally
        {
            File.Delete(isoPath);
        }
    }
}
