namespace IsoCluster.Grains.Health;

/// <summary>
/// Answers whether the silo it runs on can serve boots. A gateway calls it for its readiness probe: an answer proves
/// the gateway reaches the cluster, and its content says whether that silo has its Hardware loaded.
/// </summary>
[Alias("IsoCluster.IReadinessGrain")]
public interface IReadinessGrain : IGrainWithIntegerKey
{
    /// <summary>The answering silo's readiness.</summary>
    [Alias("Check")]
    ValueTask<SiloReadiness> CheckAsync(CancellationToken cancellationToken = default);
}

/// <summary>One silo's answer to <see cref="IReadinessGrain.CheckAsync"/>.</summary>
/// <param name="Silo">The silo that answered, for messages.</param>
/// <param name="NotReadyReason">Why it cannot serve boots yet, or null when it can.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.SiloReadiness")]
public sealed record SiloReadiness(
    [property: Id(0)] string Silo,
    [property: Id(1)] string? NotReadyReason);
