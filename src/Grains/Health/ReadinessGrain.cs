using IsoCluster.Grains.Hardware;
using Orleans.Concurrency;

namespace IsoCluster.Grains.Health;

/// <summary>
/// Reports this silo's Hardware readiness. A stateless worker, so every silo answers for itself, locally when it can,
/// and a probe never queues behind another.
/// </summary>
[StatelessWorker]
internal sealed class ReadinessGrain : Grain, IReadinessGrain
{
    private readonly IHardwareSource _hardware;
    private readonly ILocalSiloDetails _silo;

    public ReadinessGrain(IHardwareSource hardware, ILocalSiloDetails silo)
    {
        _hardware = hardware;
        _silo = silo;
    }

    public ValueTask<SiloReadiness> CheckAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new SiloReadiness(_silo.Name, _hardware.NotReadyReason));
}
