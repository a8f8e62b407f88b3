namespace IsoCluster.MachineGrainsBench;

/// <summary>The peer of <c>IMachineGrain</c>: a grain with no state and no services, so its cost is Orleans' own.</summary>
[Alias("IsoCluster.Bench.IEmptyGrain")]
public interface IEmptyGrain : IGrainWithStringKey
{
    /// <summary>Does nothing; the first call activates the grain.</summary>
    /// <returns>A completed task.</returns>
    [Alias("Ping")]
    ValueTask PingAsync();
}

/// <summary>A grain with no fields beyond those of <see cref="Grain"/> and a constructor that takes nothing.</summary>
internal sealed class EmptyGrain : Grain, IEmptyGrain
{
    public ValueTask PingAsync() => ValueTask.CompletedTask;
}
