using System.Net;

namespace IsoCluster.Grains.Upstream;

/// <summary>What kind of address an upstream host resolved to, as far as reaching it from a silo is concerned.</summary>
public enum AddressClass
{
    /// <summary>A globally routable unicast address: the only kind a client's source may reach without being allowed.</summary>
    Public = 0,

    /// <summary>This host: 127.0.0.0/8, ::1.</summary>
    Loopback = 1,

    /// <summary>The link the silo sits on: 169.254.0.0/16, fe80::/10.</summary>
    LinkLocal = 2,

    /// <summary>A cloud instance metadata service (169.254.169.254, fd00:ec2::254), which hands out credentials.</summary>
    Metadata = 3,

    /// <summary>0.0.0.0/8 and ::, which Linux connects to this host.</summary>
    Unspecified = 4,

    /// <summary>224.0.0.0/4, ff00::/8.</summary>
    Multicast = 5,

    /// <summary>255.255.255.255.</summary>
    Broadcast = 6,

    /// <summary>Private networks: 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier NAT), fc00::/7 (unique local), fec0::/10.</summary>
    Private = 7,

    /// <summary>Special-purpose ranges that are not globally routable: documentation, benchmarking, 240/4, IPv6 outside 2000::/3.</summary>
    Reserved = 8,
}

/// <summary>
/// Sorts addresses into <see cref="AddressClass"/>es after the IANA IPv4 and IPv6 Special-Purpose Address Registries
/// (RFC 6890 and its updates). Addresses that embed an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4) are
/// judged by the IPv4 address they lead to.
/// </summary>
public static class AddressClasses
{
    // First match wins, so a single address sits before the range that holds it.
    private static readonly (IPNetwork Network, AddressClass Class)[] s_ipv4 =
    [
        (IPNetwork.Parse("0.0.0.0/8"), AddressClass.Unspecified),
        (IPNetwork.Parse("10.0.0.0/8"), AddressClass.Private),
        (IPNetwork.Parse("100.64.0.0/10"), AddressClass.Private),
        (IPNetwork.Parse("127.0.0.0/8"), AddressClass.Loopback),
        (IPNetwork.Parse("169.254.169.254/32"), AddressClass.Metadata),
        (IPNetwork.Parse("169.254.0.0/16"), AddressClass.LinkLocal),
        (IPNetwork.Parse("172.16.0.0/12"), AddressClass.Private),
        (IPNetwork.Parse("192.0.0.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("192.0.2.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("192.88.99.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("192.168.0.0/16"), AddressClass.Private),
        (IPNetwork.Parse("198.18.0.0/15"), AddressClass.Reserved),
        (IPNetwork.Parse("198.51.100.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("203.0.113.0/24"), AddressClass.Reserved),
        (IPNetwork.Parse("224.0.0.0/4"), AddressClass.Multicast),
        (IPNetwork.Parse("255.255.255.255/32"), AddressClass.Broadcast),
        (IPNetwork.Parse("240.0.0.0/4"), AddressClass.Reserved),
    ];

    private static readonly (IPNetwork Network, AddressClass Class)[] s_ipv6 =
    [
        (IPNetwork.Parse("::/128"), AddressClass.Unspecified),
        (IPNetwork.Parse("::1/128"), AddressClass.Loopback),
        (IPNetwork.Parse("fd00:ec2::254/128"), AddressClass.Metadata),
        (IPNetwork.Parse("fc00::/7"), AddressClass.Private),
        (IPNetwork.Parse("fe80::/10"), AddressClass.LinkLocal),
        (IPNetwork.Parse("fec0::/10"), AddressClass.Private),
        (IPNetwork.Parse("ff00::/8"), AddressClass.Multicast),
        (IPNetwork.Parse("64:ff9b:1::/48"), AddressClass.Private),
        (IPNetwork.Parse("2001::/23"), AddressClass.Reserved),
        (IPNetwork.Parse("2001:db8::/32"), AddressClass.Reserved),
        (IPNetwork.Parse("3fff::/20"), AddressClass.Reserved),
        (IPNetwork.Parse("5f00::/16"), AddressClass.Reserved),
    ];

    private static readonly IPNetwork s_nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork s_sixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork s_globalUnicast = IPNetwork.Parse("2000::/3");

    /// <summary>The class of <paramref name="address"/>.</summary>
    public static AddressClass Of(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        address = Canonical(address);
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return Lookup(s_ipv4, address);
        }

        // A NAT64 gateway or 6to4 relay carries the connection on to the IPv4 address inside.
        if (s_nat64.Contains(address))
        {
            return Of(new IPAddress(address.GetAddressBytes().AsSpan(12, 4)));
        }

        if (s_sixToFour.Contains(address))
        {
            return Of(new IPAddress(address.GetAddressBytes().AsSpan(2, 4)));
        }

        var known = Lookup(s_ipv6, address);
        if (known != AddressClass.Public)
        {
            return known;
        }

        // Everything else outside 2000::/3 (IPv4-compatible ::/96, discard-only 100::/64, unassigned space) is reserved.
        return s_globalUnicast.Contains(address) ? AddressClass.Public : AddressClass.Reserved;
    }

    /// <summary>The address a connection actually goes to: an IPv4-mapped IPv6 address is its IPv4 address, without a scope.</summary>
    public static IPAddress Canonical(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>The class in words, for reasons and logs: "a loopback address".</summary>
    public static string Describe(AddressClass addressClass) => addressClass switch
    {
        AddressClass.Public => "a public address",
        AddressClass.Loopback => "a loopback address",
        AddressClass.LinkLocal => "a link-local address",
        AddressClass.Metadata => "the cloud metadata address",
        AddressClass.Unspecified => "the unspecified address",
        AddressClass.Multicast => "a multicast address",
        AddressClass.Broadcast => "the broadcast address",
        AddressClass.Private => "a private address",
        _ => "a reserved, non-routable address",
    };

    private static AddressClass Lookup((IPNetwork Network, AddressClass Class)[] table, IPAddress address)
    {
        foreach (var (network, addressClass) in table)
        {
            if (network.Contains(address))
            {
                return addressClass;
            }
        }

        return AddressClass.Public;
    }
}
