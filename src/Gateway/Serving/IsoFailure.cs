using IsoCluster.Grains.Machines;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// Why an ISO request cannot be served, and the one place where each reason becomes an HTTP status
/// (DESIGN invariant 7: bad input is a 4xx with a reason; upstream trouble is 502/503/504).
/// </summary>
internal readonly record struct IsoFailure(int StatusCode, string Reason)
{
    public bool IsServerSide => StatusCode >= 500;

    public static IsoFailure BadMac(string reason) => new(StatusCodes.Status400BadRequest, reason);

    public static IsoFailure From(BootPlanStatus status, string? reason) => new(
        status switch
        {
            BootPlanStatus.HardwareNotFound => StatusCodes.Status404NotFound,
            BootPlanStatus.HardwareUnavailable => StatusCodes.Status503ServiceUnavailable,
            BootPlanStatus.NoSourceIso => StatusCodes.Status400BadRequest,
            BootPlanStatus.SourceNotAllowed => StatusCodes.Status403Forbidden,
            BootPlanStatus.InvalidKernelParams or BootPlanStatus.KernelParamsTooLong => StatusCodes.Status500InternalServerError,
            _ => StatusCodes.Status500InternalServerError,
        },
        reason ?? status.ToString());

    public static IsoFailure From(UpstreamStatus status, string? reason) => status switch
    {
        UpstreamStatus.TimedOut => new(StatusCodes.Status504GatewayTimeout, $"upstream: {reason}"),
        UpstreamStatus.VersionChanged => new(
            StatusCodes.Status503ServiceUnavailable,
            $"the upstream ISO changed during this boot ({reason}); retry and the boot restarts on the new version"),
        UpstreamStatus.Busy => new(StatusCodes.Status503ServiceUnavailable, $"upstream busy: {reason}; retry shortly"),
        _ => new(StatusCodes.Status502BadGateway, $"upstream: {reason ?? status.ToString()}"),
    };

    /// <summary>
    /// A grain read that ran out of retries or time (DESIGN invariant 8): 504 when the last attempt timed out, 503 when
    /// the cluster was unavailable (a silo or connection lost).
    /// </summary>
    public static IsoFailure From(ClusterCallException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var what = failure.Kind == ClusterCallKind.BootPlan ? "boot plan or ISO version" : "chunk read";
        return failure.TimedOut
            ? ClusterTimeout($"{what}, {failure.Attempts} attempt(s)")
            : ClusterUnavailable($"{what}: {failure.InnerException?.GetType().Name}, {failure.Attempts} attempt(s)");
    }

    public static IsoFailure ClusterTimeout(string what) =>
        new(StatusCodes.Status504GatewayTimeout, $"the cluster did not answer in time ({what})");

    public static IsoFailure ClusterUnavailable(string what) =>
        new(StatusCodes.Status503ServiceUnavailable, $"the cluster is unavailable ({what})");
}
