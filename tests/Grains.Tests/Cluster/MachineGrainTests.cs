using System.Text;
using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Tests.Cluster;

[Collection(GrainClusterDefinition.Name)]
[Trait("Category", "Cluster")]
public sealed class MachineGrainTests(GrainClusterFixture fixture)
{
    [Fact]
    public async Task GetBootPlanAsync_KnownMac_UsesDefaultSourceAndTinkerbellParams()
    {
        var result = await Plan(GrainClusterFixture.KnownMac, null);

        Assert.Equal(BootPlanStatus.Ready, result.Status);
        Assert.Equal(new IsoSource(fixture.Upstream.Url("hook.iso"), IsoSourceOrigin.Operator), result.Plan!.Source);
        Assert.Equal(
            "facility=lab console=ttyAMA0 console=ttyS0 console=tty0 console=tty1 console=ttyS1 vlan_id=7 " +
            "hw_addr=aa:bb:cc:00:00:01 syslog_host=10.0.0.1 grpc_authority=10.0.0.1:42113 tinkerbell_tls=false worker_id=aa:bb:cc:00:00:01",
            Encoding.ASCII.GetString(result.Plan.KernelParams));
    }

    [Fact]
    public async Task GetBootPlanAsync_HardwareNamesSource_HardwareSourceWins()
    {
        var result = await Plan(GrainClusterFixture.OwnSourceMac, null);
        Assert.Equal(fixture.Upstream.Url("other.iso"), result.Plan!.Source.Url);
    }

    [Fact]
    public async Task GetBootPlanAsync_UnknownMac_IsHardwareNotFound()
    {
        var result = await Plan("aa:bb:cc:99:99:99", null);
        Assert.Equal(BootPlanStatus.HardwareNotFound, result.Status);
        Assert.Contains("aa:bb:cc:99:99:99", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetBootPlanAsync_UnsafeHardwareField_IsRefusedNamingMacAndField()
    {
        var result = await Plan(GrainClusterFixture.UnsafeMac, null);
        Assert.Equal(BootPlanStatus.InvalidKernelParams, result.Status);
        Assert.Contains(GrainClusterFixture.UnsafeMac, result.Reason, StringComparison.Ordinal);
        Assert.Contains("hostname", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("file:///etc/passwd")]
    [InlineData("not a url")]
    public async Task GetBootPlanAsync_QuerySourceOutsideAllowlist_IsSourceNotAllowed(string sourceIso)
    {
        var result = await Plan(GrainClusterFixture.KnownMac, sourceIso);
        Assert.Equal(BootPlanStatus.SourceNotAllowed, result.Status);
        Assert.Null(result.Plan);
    }

    [Fact]
    public async Task GetBootPlanAsync_AllowlistedQuerySource_IsUsedAsClientOrigin()
    {
        var url = fixture.Upstream.Url("other.iso");
        var result = await Plan(GrainClusterFixture.KnownMac, url);
        Assert.Equal(new IsoSource(url, IsoSourceOrigin.Client), result.Plan!.Source);
    }

    [Fact]
    public async Task GetBootPlanAsync_HardwareEdited_PlanIsRebuilt()
    {
        var before = await Plan(GrainClusterFixture.EditedMac, null);
        var original = await File.ReadAllTextAsync(fixture.HardwareFile);
        try
        {
            // Only the edited machine's facility changes; the file source polls every 200 ms.
            await File.WriteAllTextAsync(fixture.HardwareFile, original.Replace(
                "facility_code: lab\n  interfaces:\n    - dhcp: {mac: \"aa:bb:cc:00:00:04\"",
                "facility_code: lab2\n  interfaces:\n    - dhcp: {mac: \"aa:bb:cc:00:00:04\"",
                StringComparison.Ordinal));
            BootPlanResult after;
            var deadline = DateTime.UtcNow.AddSeconds(15);
            do
            {
                await Task.Delay(100);
                after = await Plan(GrainClusterFixture.EditedMac, null);
            }
            while (after.Plan!.PatchTag == before.Plan!.PatchTag && DateTime.UtcNow < deadline);

            Assert.NotEqual(before.Plan!.PatchTag, after.Plan.PatchTag);
            Assert.StartsWith("facility=lab2 ", Encoding.ASCII.GetString(after.Plan.KernelParams), StringComparison.Ordinal);
        }
        finally
        {
            await File.WriteAllTextAsync(fixture.HardwareFile, original);
        }
    }

    [Fact]
    public async Task GetBootPlanAsync_UpstreamChangesMidBoot_VersionStaysPinnedUntilReleased()
    {
        var url = fixture.Upstream.Url("pinned.iso");
        fixture.Upstream.SetFile("pinned.iso", GrainClusterFixture.Image(2, seed: 9));
        var first = await Plan(GrainClusterFixture.KnownMac, url);

        // The source grain learns of the new version, but this machine is mid-boot.
        fixture.Upstream.SetFile("pinned.iso", GrainClusterFixture.Image(2, seed: 10));
        await fixture.Grains.GetGrain<ISourceIsoGrain>(first.Version!.Source.GrainKey).InvalidateAsync(first.Version.Id);
        var sameBoot = await Plan(GrainClusterFixture.KnownMac, url);

        await fixture.Grains.GetGrain<IMachineGrain>(GrainClusterFixture.KnownMac).ReleaseVersionAsync(first.Version.Id);
        var nextBoot = await Plan(GrainClusterFixture.KnownMac, url);

        Assert.Equal(first.Version.Id, sameBoot.Version!.Id);
        Assert.NotEqual(first.Version.Id, nextBoot.Version!.Id);
    }

    [Fact]
    public async Task GetBootPlanAsync_SourceMissingUpstream_IsUpstreamFailedWithReason()
    {
        var result = await Plan(GrainClusterFixture.KnownMac, fixture.Upstream.Url("absent.iso"));

        Assert.Equal(BootPlanStatus.UpstreamFailed, result.Status);
        Assert.Equal(UpstreamStatus.BadResponse, result.UpstreamStatus);
        Assert.Contains("404", result.Reason, StringComparison.Ordinal);
    }

    private Task<BootPlanResult> Plan(string mac, string? sourceIso) =>
        fixture.Grains.GetGrain<IMachineGrain>(mac).GetBootPlanAsync(sourceIso).AsTask();
}
