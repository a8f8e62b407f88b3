using System.Collections.Immutable;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Hardware;

/// <summary>
/// One bootable machine: a Tinkerbell Hardware object seen through one of its interfaces (the one whose MAC asked).
/// </summary>
/// <remarks>
/// The properties are get-only (not <c>init</c>) so that a <c>with</c> expression cannot leave
/// <see cref="Revision"/> describing fields that were since replaced.
/// </remarks>
public sealed record MachineRecord
{
    /// <summary>Creates the record and computes its <see cref="Revision"/>.</summary>
    /// <param name="hardwareName">The Hardware object's <c>metadata.name</c>.</param>
    /// <param name="namespace">The Hardware object's <c>metadata.namespace</c>, or null when absent.</param>
    /// <param name="facility">The Hardware object's <c>spec.metadata.facility.facility_code</c>, or null when absent.</param>
    /// <param name="interface">The interface this machine boots through.</param>
    /// <param name="resourceVersion">The Hardware object's <c>metadata.resourceVersion</c>, or null when absent.</param>
    public MachineRecord(string hardwareName, string? @namespace, string? facility, MachineInterface @interface, string? resourceVersion = null)
    {
        ArgumentNullException.ThrowIfNull(hardwareName);
        ArgumentNullException.ThrowIfNull(@interface);
        HardwareName = hardwareName;
        Namespace = @namespace;
        Facility = facility;
        Interface = @interface;
        ResourceVersion = resourceVersion;
        Revision = MachineRevision.Compute(this);
    }

    /// <summary>The Hardware object's <c>metadata.name</c>.</summary>
    public string HardwareName { get; }

    /// <summary>The Hardware object's <c>metadata.namespace</c>, or null when absent.</summary>
    public string? Namespace { get; }

    /// <summary>The Hardware object's <c>spec.metadata.facility.facility_code</c>, or null when absent or empty.</summary>
    public string? Facility { get; }

    /// <summary>The interface (and its DHCP settings) this machine boots through.</summary>
    public MachineInterface Interface { get; }

    /// <summary>
    /// The Hardware object's <c>metadata.resourceVersion</c>, for diagnostics only: it changes on any edit of the
    /// object, including ones that do not affect this machine, so it is not part of <see cref="Revision"/>.
    /// </summary>
    public string? ResourceVersion { get; }

    /// <summary>
    /// A short, stable hash (16 lowercase hex digits) of every field above except <see cref="ResourceVersion"/>
    /// and the interface position: equal revisions mean an unchanged boot configuration.
    /// </summary>
    public string Revision { get; }
}

/// <summary>One <c>spec.interfaces[]</c> entry of a Hardware object: the fields that shape the machine's boot.</summary>
/// <param name="Mac"><c>dhcp.mac</c>, normalized.</param>
/// <param name="Index">The entry's position in <c>spec.interfaces</c>, for error messages.</param>
/// <param name="VlanId"><c>dhcp.vlan_id</c>, or null when absent or empty.</param>
/// <param name="IpAddress"><c>dhcp.ip.address</c>, or null when absent or empty.</param>
/// <param name="Netmask"><c>dhcp.ip.netmask</c>, or null when absent or empty.</param>
/// <param name="Gateway"><c>dhcp.ip.gateway</c>, or null when absent or empty.</param>
/// <param name="Hostname"><c>dhcp.hostname</c>, or null when absent or empty.</param>
/// <param name="NameServers"><c>dhcp.name_servers</c>, in order.</param>
/// <param name="SearchDomains"><c>dhcp.domain_search</c> when present, else <c>dhcp.domain_name</c> split on commas.</param>
/// <param name="TimeServers"><c>dhcp.time_servers</c>, in order.</param>
/// <param name="SourceIso"><c>isoboot.sourceISO</c>, or null when absent or empty.</param>
public sealed record MachineInterface(
    MacAddress Mac,
    int Index,
    string? VlanId,
    string? IpAddress,
    string? Netmask,
    string? Gateway,
    string? Hostname,
    ImmutableArray<string> NameServers,
    ImmutableArray<string> SearchDomains,
    ImmutableArray<string> TimeServers,
    string? SourceIso)
{
    // ImmutableArray compares by reference; records compare by value, so the lists are compared element-wise here.

    /// <inheritdoc/>
    public bool Equals(MachineInterface? other) =>
        other is not null
        && Mac == other.Mac
        && Index == other.Index
        && VlanId == other.VlanId
        && IpAddress == other.IpAddress
        && Netmask == other.Netmask
        && Gateway == other.Gateway
        && Hostname == other.Hostname
        && NameServers.AsSpan().SequenceEqual(other.NameServers.AsSpan())
        && SearchDomains.AsSpan().SequenceEqual(other.SearchDomains.AsSpan())
        && TimeServers.AsSpan().SequenceEqual(other.TimeServers.AsSpan())
        && SourceIso == other.SourceIso;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Mac, Index, VlanId, IpAddress, Hostname, NameServers.Length, SourceIso);
}
