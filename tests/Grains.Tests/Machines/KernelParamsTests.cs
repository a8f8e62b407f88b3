using System.Text;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Tests.Machines;

public sealed class KernelParamsTests
{
    private const string Consoles = "console=ttyAMA0 console=ttyS0 console=tty0 console=tty1 console=ttyS1";
    private const string Fixed = "hw_addr=de:ed:be:ef:fe:ed syslog_host=127.0.0.1:514 grpc_authority=127.0.0.1:42113 tinkerbell_tls=false worker_id=de:ed:be:ef:fe:ed";

    [Fact]
    public void Build_TinkerbellExample_MatchesExactly()
    {
        var machine = TestMachines.Create(facility: "test", nic => nic with { VlanId = "400" });
        var options = TestMachines.Options(extra: "k1=1 k2=2", staticIpam: true);

        var result = KernelParams.Build(machine, options);

        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal(
            "k1=1 k2=2 facility=test console=ttyAMA0 console=ttyS0 console=tty0 console=tty1 console=ttyS1 vlan_id=400 hw_addr=de:ed:be:ef:fe:ed syslog_host=127.0.0.1:514 grpc_authority=127.0.0.1:42113 tinkerbell_tls=false worker_id=de:ed:be:ef:fe:ed ipam=de-ed-be-ef-fe-ed:400:::::::",
            result.CommandLine);
        Assert.Equal(Encoding.ASCII.GetBytes(result.CommandLine), result.ToAscii());
    }

    [Fact]
    public void Build_EveryPart_NamesWhereItCameFrom_AndTheyJoinToTheCommandLine()
    {
        var machine = TestMachines.Create(facility: "lab1", nic => nic with { VlanId = "400" });
        var options = TestMachines.Options(extra: "k1=1", staticIpam: true);
        options.SyslogHost = "";

        var result = KernelParams.Build(machine, options);

        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal(result.CommandLine, string.Join(' ', result.Parts.Select(part => part.Text)));
        Assert.Equal(
            [
                ("k1=1", KernelParamOrigin.Flag, "--extra-kernel-args"),
                ("facility=lab1", KernelParamOrigin.Hardware, "spec.metadata.facility.facility_code"),
                ("console=ttyAMA0", KernelParamOrigin.Default, "spec.metadata.facility.facility_code"),
                ("console=ttyS0", KernelParamOrigin.Default, "spec.metadata.facility.facility_code"),
                ("console=tty0", KernelParamOrigin.Default, "spec.metadata.facility.facility_code"),
                ("console=tty1", KernelParamOrigin.Default, "spec.metadata.facility.facility_code"),
                ("console=ttyS1", KernelParamOrigin.Default, "spec.metadata.facility.facility_code"),
                ("vlan_id=400", KernelParamOrigin.Hardware, "spec.interfaces[0].dhcp.vlan_id"),
                ("hw_addr=de:ed:be:ef:fe:ed", KernelParamOrigin.Hardware, "spec.interfaces[0].dhcp.mac"),
                ("syslog_host=", KernelParamOrigin.Default, "--syslog-host"),
                ("grpc_authority=127.0.0.1:42113", KernelParamOrigin.Flag, "--tink-server-addr-port"),
                ("tinkerbell_tls=false", KernelParamOrigin.Default, "--tink-server-use-tls"),
                ("worker_id=de:ed:be:ef:fe:ed", KernelParamOrigin.Hardware, "spec.interfaces[0].dhcp.mac"),
                ("ipam=de-ed-be-ef-fe-ed:400:::::::", KernelParamOrigin.Hardware, "spec.interfaces[0].dhcp (mac, vlan_id, ip, hostname, name_servers, domain_search, time_servers) with --iso-static-ipam-enabled"),
            ],
            result.Parts.Select(part => (part.Text, part.From, part.Setting)).ToArray());
    }

    [Fact]
    public void Build_RefusedValue_KeepsThePartsForExplaining()
    {
        var result = KernelParams.Build(TestMachines.Create(facility: "lab$x"), TestMachines.Options());

        Assert.False(result.IsSuccess);
        Assert.Contains(result.Parts, part => part.Text == "facility=lab$x" && part.From == KernelParamOrigin.Hardware);
    }

    [Fact]
    public void Build_FacilityWithConsole_ReplacesDefaultConsoles()
    {
        var machine = TestMachines.Create(facility: "console=ttyS1,115200n8");

        var result = KernelParams.Build(machine, TestMachines.Options());

        Assert.Equal($"facility=console=ttyS1,115200n8 {Fixed}", result.CommandLine);
    }

    [Theory]
    [InlineData("lab1 console=ttyS1,115200n8", "facility=lab1 console=ttyS1,115200n8")]
    [InlineData("  lab1   console=ttyS1,115200n8  ", "facility=lab1 console=ttyS1,115200n8")]
    [InlineData("lab1 console=ttyS1,115200n8 console=tty0", "facility=lab1 console=ttyS1,115200n8 console=tty0")]
    [InlineData("lab1 quiet", "facility=lab1 quiet " + Consoles)]
    [InlineData(" lab1 ", "facility=lab1 " + Consoles)]
    [InlineData("   ", Consoles)]
    public void Build_FacilityWithSeveralParameters_SplitsOnSpacesAsTinkerbellDoes(string facility, string expectedStart)
    {
        var result = KernelParams.Build(TestMachines.Create(facility), TestMachines.Options());

        Assert.True(result.IsSuccess, result.Error);
        Assert.Equal($"{expectedStart} {Fixed}", result.CommandLine);
    }

    [Fact]
    public void Build_FacilityAndExtraArgs_PutsExtraArgsFirst()
    {
        var result = KernelParams.Build(TestMachines.Create("lab1 console=ttyS1,115200n8"), TestMachines.Options(extra: " k1=1  k2=2 "));

        Assert.Equal($"k1=1 k2=2 facility=lab1 console=ttyS1,115200n8 {Fixed}", result.CommandLine);
    }

    [Theory]
    [InlineData("lab1 console=ttyS1;reboot", "contains ';', which would end the GRUB command")]
    [InlineData("lab1 $x", "contains '$', which GRUB would expand")]
    [InlineData("lab1\tconsole=ttyS1", "contains the control character U+0009")]
    [InlineData("lab1\nconsole=ttyS1", "contains the control character U+000A")]
    [InlineData("lab1 consol\u00e9=ttyS1", "contains the non-ASCII character U+00E9")]
    public void Build_UnsafeTokenInFacility_NamesMacAndField(string facility, string problem)
    {
        var result = KernelParams.Build(TestMachines.Create(System.Text.RegularExpressions.Regex.Unescape(facility)), TestMachines.Options());

        Assert.False(result.IsSuccess);
        Assert.Equal($"de:ed:be:ef:fe:ed: spec.metadata.facility.facility_code {problem}", result.Error);
    }

    [Fact]
    public void Build_SpaceInHostname_StaysRefused()
    {
        var result = KernelParams.Build(TestMachines.Create("lab1", n => n with { Hostname = "sm 01" }), TestMachines.Options());

        Assert.Equal("de:ed:be:ef:fe:ed: spec.interfaces[0].dhcp.hostname contains a space, which would split it into two kernel parameters", result.Error);
    }

    [Fact]
    public void Build_EmptyFacility_StartsWithDefaultConsoles()
    {
        var result = KernelParams.Build(TestMachines.Create(facility: null), TestMachines.Options());

        Assert.Equal($"{Consoles} {Fixed}", result.CommandLine);
    }

    [Fact]
    public void Build_NoVlan_OmitsVlanTokenAndLeavesIpamFieldEmpty()
    {
        var machine = TestMachines.Create(facility: "test");

        var result = KernelParams.Build(machine, TestMachines.Options(staticIpam: true));

        Assert.Equal($"facility=test {Consoles} {Fixed} ipam=de-ed-be-ef-fe-ed::::::::", result.CommandLine);
    }

    [Fact]
    public void Build_TlsEnabled_SaysTrue()
    {
        var options = TestMachines.Options();
        options.TinkServerUseTls = true;

        var result = KernelParams.Build(TestMachines.Create(facility: null), options);

        Assert.Contains(" tinkerbell_tls=true ", result.CommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_StaticIpamWithAllFields_JoinsListsWithCommas()
    {
        var machine = TestMachines.Create(facility: null, nic => nic with
        {
            VlanId = "12",
            IpAddress = "10.0.1.11",
            Netmask = "255.255.255.0",
            Gateway = "10.0.1.1",
            Hostname = "sm01",
            NameServers = ["1.1.1.1", "8.8.8.8"],
            SearchDomains = ["example.com", "lab.example.com"],
            TimeServers = ["132.163.97.1", "132.163.96.1"],
        });

        var result = KernelParams.Build(machine, TestMachines.Options(staticIpam: true));

        Assert.EndsWith(
            " worker_id=de:ed:be:ef:fe:ed ipam=de-ed-be-ef-fe-ed:12:10.0.1.11:255.255.255.0:10.0.1.1:sm01:1.1.1.1,8.8.8.8:example.com,lab.example.com:132.163.97.1,132.163.96.1",
            result.CommandLine,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Build_StaticIpamDisabled_OmitsIpam()
    {
        var machine = TestMachines.Create(facility: null, nic => nic with { IpAddress = "10.0.1.11" });

        var result = KernelParams.Build(machine, TestMachines.Options());

        Assert.DoesNotContain("ipam=", result.CommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_ExtraArgsWithRunsOfWhitespace_KeepsTokensInOrder()
    {
        var result = KernelParams.Build(TestMachines.Create(facility: null), TestMachines.Options(extra: "  b=2\ta=1 \n c  "));

        Assert.StartsWith($"b=2 a=1 c {Consoles} ", result.CommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_DollarInFacility_NamesMacAndField()
    {
        var result = KernelParams.Build(TestMachines.Create(facility: "lab$x"), TestMachines.Options());

        Assert.False(result.IsSuccess);
        Assert.Null(result.CommandLine);
        Assert.Equal("de:ed:be:ef:fe:ed: spec.metadata.facility.facility_code contains '$', which GRUB would expand", result.Error);
        Assert.Throws<InvalidOperationException>(() => result.ToAscii());
    }

    [Fact]
    public void Build_SemicolonInExtraArgs_NamesMacAndFlag()
    {
        var result = KernelParams.Build(TestMachines.Create(facility: null), TestMachines.Options(extra: "a=1 b=2;reboot"));

        Assert.Equal("de:ed:be:ef:fe:ed: --extra-kernel-args contains ';', which would end the GRUB command", result.Error);
    }

    [Fact]
    public void Build_SeveralProblems_ReportsEveryOne()
    {
        var machine = TestMachines.Create(facility: "a b{", nic => nic with { Hostname = "h\u00e9" });

        var result = KernelParams.Build(machine, TestMachines.Options(extra: "x=$y"));

        Assert.Equal(
            "de:ed:be:ef:fe:ed: --extra-kernel-args contains '$', which GRUB would expand; "
            + "de:ed:be:ef:fe:ed: spec.metadata.facility.facility_code contains '{', which GRUB treats as a block delimiter; "
            + "de:ed:be:ef:fe:ed: spec.interfaces[0].dhcp.hostname contains the non-ASCII character U+00E9",
            result.Error);
    }

    [Fact]
    public void ValidateOptions_SafeOptions_ReportsNothing()
    {
        Assert.Empty(KernelParams.ValidateOptions(TestMachines.Options(extra: "k1=1 k2=2")));
    }

    [Fact]
    public void ValidateOptions_BadSettings_NamesEachFlag()
    {
        var options = TestMachines.Options(extra: "quiet x=\"y\"");
        options.SyslogHost = "log host";
        options.TinkServerAddrPort = "tink:42113\u0007";

        var problems = KernelParams.ValidateOptions(options);

        Assert.Equal(
            [
                "--syslog-host contains a space, which would split it into two kernel parameters",
                "--tink-server-addr-port contains the control character U+0007",
                "--extra-kernel-args contains '\"', which GRUB would consume as a quote",
            ],
            problems);
    }
}

/// <summary>Builds machines and options for kernel parameter tests.</summary>
internal static class TestMachines
{
    public static MachineRecord Create(string? facility, Func<MachineInterface, MachineInterface>? edit = null)
    {
        var nic = new MachineInterface(
            MacAddress.Parse("DE:ED:BE:EF:FE:ED"), 0, null, null, null, null, null, [], [], [], null);
        return new MachineRecord("sm01", "tink-system", facility, edit is null ? nic : edit(nic));
    }

    public static BootOptions Options(string extra = "", bool staticIpam = false) => new()
    {
        SyslogHost = "127.0.0.1:514",
        TinkServerAddrPort = "127.0.0.1:42113",
        ExtraKernelArgs = extra,
        StaticIpamEnabled = staticIpam,
    };
}
