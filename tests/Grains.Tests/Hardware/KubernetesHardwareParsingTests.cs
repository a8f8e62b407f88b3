using System.Text.Json;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Hardware.Kubernetes;

namespace IsoCluster.Grains.Tests.Hardware;

/// <summary>
/// An object from the API becomes the same machine as the same object in a YAML file: JSON is YAML, so the file
/// parser reading the JSON text is the reference the Kubernetes path is held to.
/// </summary>
public sealed class KubernetesHardwareParsingTests
{
    private const string Full = """
        {"apiVersion":"tinkerbell.org/v1alpha1","kind":"Hardware",
         "metadata":{"name":"sm01","namespace":"tink","resourceVersion":"4711","uid":"0b8c","labels":{"rack":"r1"}},
         "spec":{"metadata":{"facility":{"facility_code":"dc1 console=ttyS1","plan_slug":"c3"}},
                 "interfaces":[{"dhcp":{"mac":"DE:ED:BE:EF:FE:01","vlan_id":400,"hostname":"sm01",
                                         "ip":{"address":"10.0.0.11","netmask":"255.255.255.0","gateway":"10.0.0.1"},
                                         "name_servers":["10.0.0.2","10.0.0.3"],"domain_search":["dc1.example.com"],
                                         "time_servers":["10.0.0.2"],"lease_time":86400,"uefi":true},
                                "isoboot":{"sourceISO":"http://isos.example/hook.iso"}},
                               {"dhcp":{"mac":"de:ed:be:ef:fe:02","domain_name":"a.example, b.example","hostname":null}}]}}
        """;

    // What the API server adds to every object, and what Tinkerbell keeps in spec: none of it is read.
    private const string Noise = """
        "managedFields":[{"manager":"kubectl","operation":"Apply","fieldsV1":{"f:spec":{"f:interfaces":{}}}}],
        "creationTimestamp":"2025-01-01T00:00:00Z","generation":3,
        """;

    [Theory]
    [InlineData(Full)]
    [InlineData("""{"apiVersion":"tinkerbell.org/v1alpha1","kind":"Hardware","metadata":{"name":"m","namespace":"n"},"spec":{"interfaces":[{"dhcp":{"mac":"02:00:00:00:00:01","hostname":"null","vlan_id":"7","name_servers":"1.1.1.1,8.8.8.8"}}]}}""")]
    [InlineData("""{"apiVersion":"tinkerbell.org/v1alpha1","kind":"Hardware","metadata":{"name":"m"},"spec":{"metadata":{"facility":{"facility_code":""}},"interfaces":[{"dhcp":{"mac":"0200.0000.0001","time_servers":[null,"ntp",""]}}]}}""")]
    public void ParseObject_SameJsonAsTheFileParserReads_GivesEqualMachines(string json)
    {
        var expected = HardwareDocumentParser.Parse(json, "hardware.json");
        Assert.Empty(expected.Errors);

        var parsed = ParseJson(json);

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
        Assert.Equal(
            expected.Index.Machines.OrderBy(m => m.Interface.Mac.Value),
            parsed.Machines.OrderBy(m => m.Interface.Mac.Value));
    }

    [Fact]
    public void ParseObject_FullObject_ReadsEveryFieldTheMachineNeeds()
    {
        var machines = ParseJson(Full).Machines;

        var first = Assert.Single(machines, m => m.Interface.Index == 0);
        Assert.Equal("4711", first.ResourceVersion);
        Assert.Equal("dc1 console=ttyS1", first.Facility);
        Assert.Equal("400", first.Interface.VlanId);
        Assert.Equal("http://isos.example/hook.iso", first.Interface.SourceIso);
        var second = Assert.Single(machines, m => m.Interface.Index == 1);
        Assert.Equal(["a.example", "b.example"], second.Interface.SearchDomains.AsEnumerable());
        Assert.Null(second.Interface.Hostname);
    }

    [Fact]
    public void ToYaml_ManagedFieldsStatusAndUserData_AreNotReadAndChangeNothing()
    {
        var noisy = Full
            .Replace("\"uid\":\"0b8c\",", "\"uid\":\"0b8c\"," + Noise, StringComparison.Ordinal)
            .Replace("\"plan_slug\":\"c3\"}}", "\"plan_slug\":\"c3\"},\"instance\":{\"userdata\":\"#cloud-config\\nruncmd: [reboot]\",\"id\":\"x\"}}", StringComparison.Ordinal)
            .TrimEnd()[..^1] + ",\"status\":{\"state\":\"in_use\",\"disks\":[{\"device\":\"/dev/sda\"}]}}";

        var yaml = HardwareJson.ToYaml(JsonDocument.Parse(noisy).RootElement);

        Assert.Equal(ParseJson(Full).Machines.AsEnumerable(), ParseJson(noisy).Machines.AsEnumerable());
        Assert.DoesNotContain("managedFields", yaml.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("userdata", yaml.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("status", yaml.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"spec":{"interfaces":{"dhcp":{}}}}""", "spec.interfaces: expected a list, found a mapping")]
    [InlineData("""{"spec":{"interfaces":[{"dhcp":{"mac":"zz"}}]}}""", "spec.interfaces[0].dhcp.mac: 'zz' is not a MAC address")]
    [InlineData("""{"spec":{"interfaces":[{"dhcp":{"mac":"02:00:00:00:00:01","vlan_id":{"a":1}}}]}}""", "spec.interfaces[0].dhcp.vlan_id: expected a string, found a mapping")]
    [InlineData("""{"spec":{"metadata":"x","interfaces":[]}}""", "spec.metadata: expected a mapping, found 'x'")]
    public void ParseObject_InvalidField_NamesObjectAndFieldAsTheFileParserDoes(string spec, string problem)
    {
        var json = """{"apiVersion":"tinkerbell.org/v1alpha1","kind":"Hardware","metadata":{"name":"bad","namespace":"lab"},""" + spec[1..];

        var parsed = ParseJson(json);

        Assert.Empty(parsed.Machines);
        var error = Assert.Single(parsed.Errors);
        Assert.StartsWith($"Kubernetes API: watch event (Hardware 'lab/bad'): {problem}", error, StringComparison.Ordinal);
        Assert.DoesNotContain("(line", error, StringComparison.Ordinal);
        Assert.Contains($"document 1 (Hardware 'lab/bad'): {problem}", Assert.Single(HardwareDocumentParser.Parse(json, "f").Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void ParseObject_OneMacOnTwoInterfaces_IsRefused()
    {
        var json = """{"metadata":{"name":"twice"},"spec":{"interfaces":[{"dhcp":{"mac":"02:00:00:00:00:01"}},{"dhcp":{"mac":"02-00-00-00-00-01"}}]}}""";

        var parsed = ParseJson(json);

        Assert.Equal("Kubernetes API: watch event (Hardware 'twice'): spec.interfaces[1].dhcp.mac: 02:00:00:00:00:01 is already used by spec.interfaces[0]", Assert.Single(parsed.Errors));
    }

    [Theory]
    [InlineData("""{"kind":"Machine","metadata":{"name":"m"}}""", "kind: 'Machine' is not Hardware")]
    [InlineData("""{"apiVersion":"tinkerbell.org/v1","metadata":{"name":"m"}}""", "apiVersion: 'tinkerbell.org/v1' is not supported for kind Hardware")]
    [InlineData("""{"metadata":{"namespace":"n"},"spec":{"interfaces":[]}}""", "metadata.name: is required")]
    public void ParseObject_WrongKindVersionOrName_IsRefused(string json, string problem) =>
        Assert.Contains(problem, Assert.Single(ParseJson(json).Errors), StringComparison.Ordinal);

    [Fact]
    public void ParseObject_WithPool_SharesRepeatedValuesAcrossObjects()
    {
        var pool = new HardwareStringPool();

        var a = ParseJson(Full, pool).Machines[0];
        var b = ParseJson(Full.Replace("sm01", "sm02", StringComparison.Ordinal), pool).Machines[0];

        Assert.Same(a.Namespace, b.Namespace);
        Assert.Same(a.Facility, b.Facility);
        Assert.Same(a.Interface.Netmask, b.Interface.Netmask);
        Assert.Same(a.Interface.SourceIso, b.Interface.SourceIso);
        Assert.Equal(a.Interface.NameServers, b.Interface.NameServers);
        Assert.Same(ImmutableArrayArray(a.Interface.NameServers), ImmutableArrayArray(b.Interface.NameServers));
        Assert.NotSame(a.HardwareName, b.HardwareName);
    }

    [Fact]
    public void ReadKey_DeletedObject_IsNamespaceAndName()
    {
        var json = JsonDocument.Parse("""{"metadata":{"name":"sm01","namespace":"tink","resourceVersion":"9"}}""").RootElement;

        Assert.Equal(new HardwareKey("tink", "sm01"), HardwareJson.ReadKey(json));
        Assert.Equal("9", HardwareJson.ReadResourceVersion(json));
        Assert.Equal("tink/sm01", HardwareJson.ReadKey(json).ToString());
    }

    private static string[]? ImmutableArrayArray(System.Collections.Immutable.ImmutableArray<string> values) =>
        System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsArray(values);

    private static HardwareObjectParse ParseJson(string json, HardwareStringPool? pool = null) =>
        HardwareDocumentParser.ParseObject(HardwareJson.ToYaml(JsonDocument.Parse(json).RootElement), "Kubernetes API", "watch event", pool);
}
