using System.Net;
using IsoCluster.Grains.Upstream;

namespace IsoCluster.Grains.Tests.Upstream;

/// <summary>
/// The address classes a client source's host is judged by after DNS (DESIGN invariant 6), after the IANA
/// special-purpose address registries (RFC 6890).
/// </summary>
public sealed class AddressClassTests
{
    [Theory]
    [InlineData("127.0.0.1", AddressClass.Loopback)]
    [InlineData("127.255.255.254", AddressClass.Loopback)]
    [InlineData("::1", AddressClass.Loopback)]
    [InlineData("::ffff:127.0.0.1", AddressClass.Loopback)]
    [InlineData("169.254.169.254", AddressClass.Metadata)]
    [InlineData("::ffff:169.254.169.254", AddressClass.Metadata)]
    [InlineData("fd00:ec2::254", AddressClass.Metadata)]
    [InlineData("169.254.1.1", AddressClass.LinkLocal)]
    [InlineData("fe80::1", AddressClass.LinkLocal)]
    [InlineData("0.0.0.0", AddressClass.Unspecified)]
    [InlineData("0.1.2.3", AddressClass.Unspecified)]
    [InlineData("::", AddressClass.Unspecified)]
    [InlineData("224.0.0.1", AddressClass.Multicast)]
    [InlineData("239.255.255.250", AddressClass.Multicast)]
    [InlineData("ff02::1", AddressClass.Multicast)]
    [InlineData("255.255.255.255", AddressClass.Broadcast)]
    [InlineData("10.1.2.3", AddressClass.Private)]
    [InlineData("172.16.0.1", AddressClass.Private)]
    [InlineData("172.31.255.255", AddressClass.Private)]
    [InlineData("192.168.1.1", AddressClass.Private)]
    [InlineData("100.64.0.1", AddressClass.Private)]
    [InlineData("100.100.100.200", AddressClass.Private)]
    [InlineData("fd12:3456::1", AddressClass.Private)]
    [InlineData("fec0::1", AddressClass.Private)]
    [InlineData("192.0.2.10", AddressClass.Reserved)]
    [InlineData("198.18.0.1", AddressClass.Reserved)]
    [InlineData("240.0.0.1", AddressClass.Reserved)]
    [InlineData("2001:db8::1", AddressClass.Reserved)]
    [InlineData("100::1", AddressClass.Reserved)]
    [InlineData("::127.0.0.1", AddressClass.Reserved)]
    public void Of_SpecialPurposeAddress_IsItsClass(string address, AddressClass expected)
    {
        Assert.Equal(expected, AddressClasses.Of(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("169.255.0.1")]
    [InlineData("2606:2800:21f:cb07:6820:80da:af6b:8b2c")]
    [InlineData("::ffff:8.8.8.8")]
    public void Of_GloballyRoutableAddress_IsPublic(string address)
    {
        Assert.Equal(AddressClass.Public, AddressClasses.Of(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("64:ff9b::7f00:1", AddressClass.Loopback)]
    [InlineData("64:ff9b::a9fe:a9fe", AddressClass.Metadata)]
    [InlineData("64:ff9b::808:808", AddressClass.Public)]
    [InlineData("2002:7f00:1::1", AddressClass.Loopback)]
    [InlineData("2002:0a00:0001::1", AddressClass.Private)]
    [InlineData("2002:0808:0808::1", AddressClass.Public)]
    public void Of_IPv6EmbeddingIPv4_IsTheClassOfTheIPv4Address(string address, AddressClass expected)
    {
        // A NAT64 gateway or 6to4 relay would carry the connection on to the IPv4 address inside.
        Assert.Equal(expected, AddressClasses.Of(IPAddress.Parse(address)));
    }

    [Fact]
    public void Describe_EveryClass_SaysWhatItIs()
    {
        foreach (var addressClass in Enum.GetValues<AddressClass>())
        {
            Assert.Contains("address", AddressClasses.Describe(addressClass), StringComparison.Ordinal);
        }

        Assert.Equal("the cloud metadata address", AddressClasses.Describe(AddressClass.Metadata));
    }
}
