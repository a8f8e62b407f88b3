using IsoCluster.Grains.Hardware;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace IsoCluster.Grains.Health;

/// <summary>
/// Gateway readiness: a silo of the cluster answers (so the Orleans client is connected) and has its Hardware loaded.
/// </summary>
internal sealed class ClusterReadinessCheck : IHealthCheck
{
    // Well under a Kubernetes probe's default 1 s timeout would be ideal, but a cold silo's first activation can take
    // longer; the probe's own timeout should be set to a few seconds (deploy/ does).
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);

    private readonly IGrainFactory _grains;
    private readonly ShutdownDrain _shutdown;

    public ClusterReadinessCheck(IGrainFactory grains, ShutdownDrain shutdown)
    {
        _grains = grains;
        _shutdown = shutdown;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_shutdown.IsStopping)
        {
            return HealthCheckResult.Unhealthy("shutting down");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        try
        {
            var answer = await _grains.GetGrain<IReadinessGrain>(0).CheckAsync(timeout.Token);
            return answer.NotReadyReason is { } reason
                ? HealthCheckResult.Unhealthy($"silo {answer.Silo}: {reason}")
                : HealthCheckResult.Healthy($"silo {answer.Silo} answered");
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            // InvalidOperationException: the client is not connected yet.
            return HealthCheckResult.Unhealthy($"the cluster did not answer: {ex.GetType().Name}: {ex.Message}");
        }
    }
}

/// <summary>Silo readiness: this silo is an active member of the cluster and has its Hardware loaded.</summary>
internal sealed class SiloReadinessCheck : IHealthCheck
{
    private readonly IClusterMembershipService _membership;
    private readonly ILocalSiloDetails _silo;
    private readonly IHardwareSource _hardware;
    private readonly ShutdownDrain _shutdown;

    public SiloReadinessCheck(IClusterMembershipService membership, ILocalSiloDetails silo, IHardwareSource hardware, ShutdownDrain shutdown)
    {
        _membership = membership;
        _silo = silo;
        _hardware = hardware;
        _shutdown = shutdown;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = _membership.CurrentSnapshot.GetSiloStatus(_silo.SiloAddress);
        var result = _shutdown.IsStopping ? HealthCheckResult.Unhealthy("shutting down")
            : status != SiloStatus.Active ? HealthCheckResult.Unhealthy($"silo {_silo.Name} is {status} in the membership, not Active")
            : _hardware.NotReadyReason is { } reason ? HealthCheckResult.Unhealthy(reason)
            : HealthCheckResult.Healthy($"silo {_silo.Name} is active");
        return Task.FromResult(result);
    }
}

/// <summary>Startup: the host finished starting (a silo has joined its cluster and loaded its Hardware).</summary>
internal sealed class HostStartedCheck : IHealthCheck
{
    private readonly IHostApplicationLifetime _lifetime;

    public HostStartedCheck(IHostApplicationLifetime lifetime) => _lifetime = lifetime;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_lifetime.ApplicationStarted.IsCancellationRequested
            ? HealthCheckResult.Healthy("started")
            : HealthCheckResult.Unhealthy("still starting"));
}
