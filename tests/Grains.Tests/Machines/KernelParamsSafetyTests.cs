using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Tests.Machines;

public sealed class KernelParamsSafetyTests
{
    // Every character GRUB would reinterpret, plus whitespace, a control character and a non-ASCII letter.
    private static readonly char[] Forbidden = ['$', ';', '"', '\'', '\\', '{', '}', '|', '&', '<', '>', '#', ' ', '\t', '\u0000', '\u007f', '\u00e9', '\u200b'];

    private static readonly Dictionary<string, Func<string, MachineRecord>> HardwareFields = new()
    {
        ["spec.metadata.facility.facility_code"] = v => TestMachines.Create(facility: v),
        ["spec.interfaces[0].dhcp.vlan_id"] = v => TestMachines.Create(null, n => n with { VlanId = v }),
        ["spec.interfaces[0].dhcp.ip.address"] = v => TestMachines.Create(null, n => n with { IpAddress = v }),
        ["spec.interfaces[0].dhcp.ip.netmask"] = v => TestMachines.Create(null, n => n with { Netmask = v }),
        ["spec.interfaces[0].dhcp.ip.gateway"] = v => TestMachines.Create(null, n => n with { Gateway = v }),
        ["spec.interfaces[0].dhcp.hostname"] = v => TestMachines.Create(null, n => n with { Hostname = v }),
        ["spec.interfaces[0].dhcp.name_servers[1]"] = v => TestMachines.Create(null, n => n with { NameServers = ["1.1.1.1", v] }),
        ["spec.interfaces[0].dhcp.domain_search/domain_name[0]"] = v => TestMachines.Create(null, n => n with { SearchDomains = [v] }),
        ["spec.interfaces[0].dhcp.time_servers[0]"] = v => TestMachines.Create(null, n => n with { TimeServers = [v] }),
    };

    private static readonly Dictionary<string, Action<BootOptions, string>> Settings = new()
    {
        ["--syslog-host"] = (o, v) => o.SyslogHost = v,
        ["--tink-server-addr-port"] = (o, v) => o.TinkServerAddrPort = v,
        ["--extra-kernel-args"] = (o, v) => o.ExtraKernelArgs = v,
    };

    public static TheoryData<string, char> HardwareCases()
    {
        var data = new TheoryData<string, char>();
        foreach (var field in HardwareFields.Keys)
        {
            // Spaces separate a facility code's parameters, so only there is a space allowed.
            foreach (var c in Forbidden.Where(c => field != "spec.metadata.facility.facility_code" || c != ' '))
            {
                data.Add(field, c);
            }
        }

        return data;
    }

    public static TheoryData<string, char> SettingCases()
    {
        var data = new TheoryData<string, char>();
        foreach (var setting in Settings.Keys)
        {
            // Whitespace separates extra arguments, so only there is it allowed.
            foreach (var c in Forbidden.Where(c => setting != "--extra-kernel-args" || c is not (' ' or '\t')))
            {
                data.Add(setting, c);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HardwareCases))]
    public void Build_ForbiddenCharacterInHardwareField_NamesMacAndField(string field, char c)
    {
        var machine = HardwareFields[field]($"a{c}b");

        var result = KernelParams.Build(machine, TestMachines.Options(staticIpam: true));

        Assert.False(result.IsSuccess);
        Assert.StartsWith($"de:ed:be:ef:fe:ed: {field} contains ", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(SettingCases))]
    public void ValidateOptions_ForbiddenCharacterInSetting_NamesFlag(string setting, char c)
    {
        var options = TestMachines.Options();
        Settings[setting](options, $"a{c}b");

        var problem = Assert.Single(KernelParams.ValidateOptions(options));

        Assert.StartsWith($"{setting} contains ", problem, StringComparison.Ordinal);
        Assert.StartsWith($"de:ed:be:ef:fe:ed: {setting} contains ", KernelParams.Build(TestMachines.Create(null), options).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_NonAsciiHostname_NamesCodePoint()
    {
        var result = KernelParams.Build(TestMachines.Create(null, n => n with { Hostname = "k\u00f6ln" }), TestMachines.Options());

        Assert.Equal("de:ed:be:ef:fe:ed: spec.interfaces[0].dhcp.hostname contains the non-ASCII character U+00F6", result.Error);
    }

    [Theory]
    [InlineData("console=ttyS0,115200n8")]
    [InlineData("dc-1_a.b:c/d@e%f+g~h!i*j(k)l[m]n,o?p")]
    public void Build_SafePunctuationInFacility_IsAccepted(string facility)
    {
        Assert.True(KernelParams.Build(TestMachines.Create(facility), TestMachines.Options()).IsSuccess);
    }
}
