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

    /// <summary>The plan is sound but the source ISO's version could not be read; see <see cref="BootPlanResult.UpstreamStatus"/>.</summary>
    UpstreamFailed = 7,
}

/// <summary>The answer to <see cref="IMachineGrain.GetBootPlanAsync"/>.</summary>
/// <param name="Status">Whether the machine can boot, and if not, why.</param>
/// <param name="Plan">The plan when <see cref="BootPlanStatus.Ready"/>.</param>
/// <param name="Reason">A one-line reason for any other status.</param>
/// <param name="Version">
/// The version of the source ISO this machine reads, pinned for the whole boot so that one boot never mixes two
/// upstream versions (DESIGN invariant 3); set when <see cref="BootPlanStatus.Ready"/>.
/// </param>
/// <param name="UpstreamStatus">What the upstream said when <see cref="BootPlanStatus.UpstreamFailed"/>.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.BootPlanResult")]
public sealed record BootPlanResult(
    [property: Id(0)] BootPlanStatus Status,
    [property: Id(1)] BootPlan? Plan,
    [property: Id(2)] string? Reason,
    [property: Id(3)] IsoVersion? Version = null,
    [property: Id(4)] UpstreamStatus UpstreamStatus = UpstreamStatus.Ok);
