namespace IsoCluster.Grains.Machines;

/// <summary>Where one token of a machine's kernel command line came from.</summary>
public enum KernelParamOrigin
{
    /// <summary>A field of the machine's Hardware object.</summary>
    Hardware = 0,

    /// <summary>A setting the operator gave (a flag, its configuration key or environment variable).</summary>
    Flag = 1,

    /// <summary>A built-in default: the setting or Hardware field that would change it was left unset.</summary>
    Default = 2,
}

/// <summary>One space-separated token of a kernel command line and where it came from.</summary>
/// <param name="Text">The token as written over the magic string, e.g. <c>console=ttyS1</c>.</param>
/// <param name="From">Whether a Hardware field, a setting or a default put it there.</param>
/// <param name="Setting">
/// The flag (e.g. <c>--syslog-host</c>) or Hardware field (e.g. <c>spec.interfaces[0].dhcp.vlan_id</c>) that decides it.
/// </param>
[GenerateSerializer, Immutable, Alias("IsoCluster.KernelParamPart")]
public sealed record KernelParamPart(
    [property: Id(0)] string Text,
    [property: Id(1)] KernelParamOrigin From,
    [property: Id(2)] string Setting);
