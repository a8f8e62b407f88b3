using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Tests.Hardware;

public sealed class HardwareDocumentParserTests
{
    private static readonly MacAddress Sm01Mac = MacAddress.Parse("de:ed:be:ef:fe:01");
    private static readonly MacAddress Sm02Mac = MacAddress.Parse("de:ed:be:ef:fe:02");

    [Fact]
    public void Parse_MultiDocumentStream_ReadsEveryHardwareObject()
    {
        var yaml = HardwareYaml.Documents(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"), HardwareYaml.Object("sm02", "de:ed:be:ef:fe:02"));

        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");

        Assert.Empty(result.Errors);
        Assert.Equal(2, result.Index.Count);
        Assert.Equal(2, result.Index.HardwareObjectCount);
        Assert.True(result.Index.TryGetMachine(Sm02Mac, out var machine));
        Assert.Equal("sm02", machine.HardwareName);
        Assert.Equal("tink-system", machine.Namespace);
    }

    [Fact]
    public void Parse_KindList_ReadsItems()
    {
        const string yaml = """
            apiVersion: v1
            kind: List
            metadata:
              resourceVersion: ""
            items:
            - apiVersion: tinkerbell.org/v1alpha1
              kind: Hardware
              metadata: {name: sm01, namespace: default, resourceVersion: "4711"}
              spec:
                interfaces:
                - dhcp: {mac: "de:ed:be:ef:fe:01"}
            - apiVersion: tinkerbell.org/v1alpha1
              kind: Hardware
              metadata: {name: sm02}
              spec:
                interfaces:
                - dhcp: {mac: "de:ed:be:ef:fe:02"}
            """;

        var result = HardwareDocumentParser.Parse(yaml, "list.yaml");

        Assert.Empty(result.Errors);
        Assert.True(result.Index.TryGetMachine(Sm01Mac, out var sm01));
        Assert.Equal("4711", sm01.ResourceVersion);
        Assert.True(result.Index.TryGetMachine(Sm02Mac, out _));
    }

    [Fact]
    public void Parse_HardwareListItemsWithoutKind_ReadsItemsAsHardware()
    {
        const string yaml = """
            apiVersion: tinkerbell.org/v1alpha1
            kind: HardwareList
            items:
            - metadata: {name: sm01}
              spec: {interfaces: [{dhcp: {mac: "de:ed:be:ef:fe:01"}}]}
            """;

        var result = HardwareDocumentParser.Parse(yaml, "list.yaml");

        Assert.Empty(result.Errors);
        Assert.Equal(1, result.Index.Count);
    }

    [Fact]
    public void Parse_OtherKindsAndEmptyDocuments_AreSkipped()
    {
        var yaml = HardwareYaml.Documents(
            "",
            "# only a comment",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}",
            "apiVersion: tinkerbell.org/v1alpha1\nkind: Template\nmetadata: {name: t}\nspec: {data: x}",
            HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));

        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");

        Assert.Empty(result.Errors);
        Assert.Equal(1, result.Index.Count);
    }

    [Fact]
    public void Parse_DuplicateMacAcrossObjects_ReportsBothAndIndexesNeither()
    {
        var yaml = HardwareYaml.Documents(
            HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"),
            HardwareYaml.Object("sm02", "DE:ED:BE:EF:FE:01"),
            HardwareYaml.Object("sm03", "de:ed:be:ef:fe:03"));

        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");

        var error = Assert.Single(result.Errors);
        Assert.StartsWith(
            "hardware.yaml: document 2 (Hardware 'tink-system/sm02'): spec.interfaces[0].dhcp.mac: de:ed:be:ef:fe:01 is already used by document 1 (Hardware 'tink-system/sm01')",
            error,
            StringComparison.Ordinal);
        Assert.False(result.Index.TryGetMachine(Sm01Mac, out _));
        Assert.Equal(1, result.Index.Count);
    }

    [Fact]
    public void Parse_BadMac_ErrorNamesFileDocumentObjectFieldAndLine()
    {
        var yaml = HardwareYaml.Documents(HardwareYaml.Object("sm00", "de:ed:be:ef:fe:00"), HardwareYaml.Object("sm01", "zz"));

        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");

        var error = Assert.Single(result.Errors);
        Assert.StartsWith(
            "hardware.yaml: document 2 (Hardware 'tink-system/sm01'): spec.interfaces[0].dhcp.mac: 'zz' is not a MAC address: ",
            error,
            StringComparison.Ordinal);
        Assert.EndsWith("(line 27)", error, StringComparison.Ordinal);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Parse_MissingMac_ReportsRequiredField()
    {
        const string yaml = """
            apiVersion: tinkerbell.org/v1alpha1
            kind: Hardware
            metadata: {name: sm01}
            spec:
              interfaces:
              - dhcp: {hostname: sm01}
              - netboot: {allowPXE: true}
            """;

        var result = HardwareDocumentParser.Parse(yaml, "hw.yaml");

        Assert.Equal(2, result.Errors.Length);
        Assert.Contains("hw.yaml: document 1 (Hardware 'sm01'): spec.interfaces[0].dhcp.mac: is required", result.Errors[0], StringComparison.Ordinal);
        Assert.Contains("spec.interfaces[1].dhcp.mac: is required", result.Errors[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOne()
    {
        var yaml = HardwareYaml.Documents(
            HardwareYaml.Object("sm01", "zz"),
            "apiVersion: tinkerbell.org/v1alpha2\nkind: Hardware\nmetadata: {name: sm02}",
            "apiVersion: tinkerbell.org/v1alpha1\nkind: Hardware\nmetadata: {namespace: x}",
            HardwareYaml.Object("sm04", "de:ed:be:ef:fe:04", extraDhcp: "ip: 10.0.0.4"));

        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");

        Assert.Collection(
            result.Errors,
            e => Assert.Contains("document 1 (Hardware 'tink-system/sm01'): spec.interfaces[0].dhcp.mac", e, StringComparison.Ordinal),
            e => Assert.Contains("document 2 (Hardware 'sm02'): apiVersion: 'tinkerbell.org/v1alpha2' is not supported for kind Hardware; expected 'tinkerbell.org/v1alpha1'", e, StringComparison.Ordinal),
            e => Assert.Contains("document 3: metadata.name: is required", e, StringComparison.Ordinal),
            e => Assert.Contains("document 4 (Hardware 'tink-system/sm04'): spec.interfaces[0].dhcp.ip: expected a mapping, found '10.0.0.4'", e, StringComparison.Ordinal));
        Assert.Equal(0, result.Index.Count);
    }

    [Fact]
    public void Parse_YamlSyntaxError_ReportsLine()
    {
        const string yaml = "apiVersion: tinkerbell.org/v1alpha1\nkind: Hardware\nmetadata: {name: [sm01}\n";

        var result = HardwareDocumentParser.Parse(yaml, "broken.yaml");

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("broken.yaml: line 3, column ", error, StringComparison.Ordinal);
        Assert.Contains("invalid YAML", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateKey_ReportsLine()
    {
        const string yaml = "apiVersion: tinkerbell.org/v1alpha1\nkind: Hardware\nkind: Hardware\n";

        var result = HardwareDocumentParser.Parse(yaml, "dup.yaml");

        Assert.StartsWith("dup.yaml: line 3, column ", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UpperCaseMacInFile_FoundByLowerCaseLookup()
    {
        var yaml = HardwareYaml.Object("sm01", "DE:ED:BE:EF:FE:01");

        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");

        Assert.True(result.Index.TryGetMachine(MacAddress.Parse("de:ed:be:ef:fe:01"), out var machine));
        Assert.Equal("de:ed:be:ef:fe:01", machine.Interface.Mac.ToString());
    }

    [Fact]
    public void Parse_AllFields_ReadsEachOne()
    {
        const string yaml = """
            apiVersion: tinkerbell.org/v1alpha1
            kind: Hardware
            metadata: {name: sm01, namespace: tink-system}
            spec:
              metadata:
                facility: {facility_code: onprem, plan_slug: c3.small}
                instance: {id: ignored}
              bmcRef: {name: bmc-sm01}
              interfaces:
              - dhcp:
                  mac: de:ed:be:ef:fe:00
              - dhcp:
                  mac: de:ed:be:ef:fe:01
                  vlan_id: 400
                  hostname: sm01
                  arch: x86_64
                  ip: {address: 10.0.1.11, netmask: 255.255.255.0, gateway: 10.0.1.1, family: 4}
                  name_servers: [1.1.1.1, 8.8.8.8]
                  time_servers: [time.example.com]
                  domain_name: "example.com, lab.example.com"
                  lease_time: 86400
                netboot: {allowPXE: true}
                isoboot: {sourceISO: "http://mirror.example.com/hook.iso"}
            """;

        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");

        Assert.Empty(result.Errors);
        Assert.True(result.Index.TryGetMachine(Sm01Mac, out var machine));
        Assert.Equal("onprem", machine.Facility);
        var nic = machine.Interface;
        Assert.Equal(1, nic.Index);
        Assert.Equal("400", nic.VlanId);
        Assert.Equal("sm01", nic.Hostname);
        Assert.Equal(("10.0.1.11", "255.255.255.0", "10.0.1.1"), (nic.IpAddress, nic.Netmask, nic.Gateway));
        Assert.Equal<string>(["1.1.1.1", "8.8.8.8"], nic.NameServers);
        Assert.Equal<string>(["time.example.com"], nic.TimeServers);
        Assert.Equal<string>(["example.com", "lab.example.com"], nic.SearchDomains);
        Assert.Equal("http://mirror.example.com/hook.iso", nic.SourceIso);
    }

    [Fact]
    public void Parse_MinimalInterface_LeavesOptionalFieldsEmpty()
    {
        var result = HardwareDocumentParser.Parse("apiVersion: tinkerbell.org/v1alpha1\nkind: Hardware\nmetadata: {name: m}\nspec: {interfaces: [{dhcp: {mac: 'de:ed:be:ef:fe:01', vlan_id: ''}}]}", "h.yaml");

        Assert.True(result.Index.TryGetMachine(Sm01Mac, out var machine));
        Assert.Null(machine.Facility);
        Assert.Null(machine.Namespace);
        Assert.Null(machine.Interface.VlanId);
        Assert.Null(machine.Interface.SourceIso);
        Assert.Empty(machine.Interface.NameServers);
    }

    [Fact]
    public void Parse_DomainSearchPresent_WinsOverDomainName()
    {
        var yaml = HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01", extraDhcp: "domain_name: example.com\ndomain_search: [a.example.com, b.example.com]");

        var result = HardwareDocumentParser.Parse(yaml, "hardware.yaml");

        Assert.True(result.Index.TryGetMachine(Sm01Mac, out var machine));
        Assert.Equal<string>(["a.example.com", "b.example.com"], machine.Interface.SearchDomains);
    }

    [Fact]
    public void Parse_VlanAsQuotedString_ReadsSameAsInteger()
    {
        var asInt = HardwareDocumentParser.Parse(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01", extraDhcp: "vlan_id: 400"), "a.yaml");
        var asString = HardwareDocumentParser.Parse(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01", extraDhcp: "vlan_id: \"400\""), "b.yaml");

        Assert.True(asInt.Index.TryGetMachine(Sm01Mac, out var a));
        Assert.True(asString.Index.TryGetMachine(Sm01Mac, out var b));
        Assert.Equal("400", a.Interface.VlanId);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Parse_ExampleFile_IsValid()
    {
        var path = FindExample();

        var result = HardwareDocumentParser.Parse(File.ReadAllText(path), "hardware.yaml");

        Assert.Empty(result.Errors);
        Assert.Equal(2, result.Index.HardwareObjectCount);
        Assert.Contains(result.Index.Machines, m => m.Interface.VlanId is not null && m.Interface.IpAddress is not null);

        // The README's first command serves examples/hardware.yaml from a local ISO: no machine may name another.
        Assert.All(result.Index.Machines, m => Assert.Null(m.Interface.SourceIso));
        Assert.Contains(result.Index.Machines, m => m.Facility == "lab1 console=ttyS1,115200n8");
    }

    private static string FindExample()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "examples", "hardware.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("examples/hardware.yaml not found above the test directory");
    }
}
