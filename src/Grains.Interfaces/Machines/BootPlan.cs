using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Machines;

/// <summary>What a machine boots: its source ISO and the kernel parameters written over the magic string.</summary>
/// <param name="Source">The upstream ISO chosen by precedence (query parameter, Hardware, default).</param>
/// <param name="KernelParams">The ASCII kernel command line, unpadded; the gateway pads it with spaces.</param>
/// <param name="PatchTag">A short hash of the kernel parameters, part of the per-machine ETag.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.BootPlan")]
public sealed record BootPlan(
    [property: Id(0)] IsoSource Source,
    [property: Id(1)] byte[] KernelParams,
    [property: Id(2)] string PatchTag);

/// <summary>Why a boot plan could or could not be made.</summary>
public enum BootPlanStatus
{
    /// <summary>The plan is ready.</summary>
    Ready = 0,

    /// <summary>No Hardware object has an interface with this MAC.</summary>
    HardwareNotFound = 1,

    /// <summary>The Hardware source cannot be read right now.</summary>
    HardwareUnavailable = 2,

    /// <summary>Neither the query, the Hardware nor the default names a source ISO.</summary>
    NoSourceIso = 3,

    /// <summary>The query parameter names a URL outside the operator allowlist (or not http/https).</summary>
    SourceNotAllowed = 4,

    /// <summary>A Hardware field or setting would be unsafe or invalid on a GRUB command line.</summary>
    InvalidKernelParams = 5,

    /// <summary>The kernel parameters are longer than the magic string they replace.</summary>
    KernelParamsTooLong = 6,
}

/// <summary>The answer to <see cref="IMachineGrain.GetBootPlanAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("IsoCluster.BootPlanResult")]
public sealed record BootPlanResult(
    [property: Id(0)] BootPlanStatus Status,
    [property: Id(1)] BootPlan? Plan,
    [property: Id(2)] string? Reason);
