using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Tests.Hardware;

public sealed class MachineRevisionTests
{
    private static readonly MacAddress Sm01Mac = MacAddress.Parse("de:ed:be:ef:fe:01");

    [Fact]
    public void Revision_SameFields_IsStableAndShort()
    {
        var a = Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        var b = Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));

        Assert.Equal(a.Revision, b.Revision);
        Assert.Matches("^[0-9a-f]{16}$", a.Revision);
    }

    [Fact]
    public void Revision_MachineFieldChanged_Changes()
    {
        var before = Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));

        Assert.NotEqual(before.Revision, Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01", hostname: "renamed")).Revision);
        Assert.NotEqual(before.Revision, Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01", facility: "lab")).Revision);
        Assert.NotEqual(before.Revision, Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01", extraDhcp: "time_servers: [ntp]")).Revision);
    }

    [Fact]
    public void Revision_UnrelatedMachineChanged_StaysTheSame()
    {
        var sm01 = HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01");

        var before = Sm01(HardwareYaml.Documents(sm01, HardwareYaml.Object("sm02", "de:ed:be:ef:fe:02")));
        var after = Sm01(HardwareYaml.Documents(sm01, HardwareYaml.Object("sm02", "de:ed:be:ef:fe:02", hostname: "other", facility: "lab")));

        Assert.Equal(before.Revision, after.Revision);
    }

    [Fact]
    public void Revision_OnlyResourceVersionChanged_StaysTheSame()
    {
        var machine = Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));

        var bumped = new MachineRecord(machine.HardwareName, machine.Namespace, machine.Facility, machine.Interface, "99");

        Assert.Equal(machine.Revision, bumped.Revision);
    }

    [Fact]
    public void Revision_AdjacentListValuesShifted_Changes()
    {
        var machine = Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        var a = machine.Interface with { NameServers = ["ab", ""], TimeServers = [] };
        var b = machine.Interface with { NameServers = ["a"], TimeServers = ["b"] };

        Assert.NotEqual(new MachineRecord("m", null, null, a).Revision, new MachineRecord("m", null, null, b).Revision);
    }

    [Fact]
    public void Equals_SameListContents_AreEqual()
    {
        var machine = Sm01(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01", extraDhcp: "name_servers: [1.1.1.1]"));
        var copy = machine.Interface with { NameServers = ["1.1.1.1"] };

        Assert.Equal(machine.Interface, copy);
        Assert.Equal(machine.Interface.GetHashCode(), copy.GetHashCode());
    }

    private static MachineRecord Sm01(string yaml)
    {
        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");
        Assert.Empty(result.Errors);
        Assert.True(result.Index.TryGetMachine(Sm01Mac, out var machine));
        return machine;
    }
}
