using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// Places a grain on the silo its key names (<c>SiloAddress.ToParsableString()</c>), for grains that report on the silo
/// they run on. Orleans' own strategies would put such a grain wherever they like, and then it would report on that silo.
/// </summary>
[GenerateSerializer, Immutable, Alias("IsoCluster.SiloKeyedPlacement")]
public sealed class SiloKeyedPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static SiloKeyedPlacement Instance { get; } = new();
}

/// <summary>Marks a grain class whose key is the address of the silo it must run on.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloKeyedPlacementAttribute : PlacementAttribute
{
    /// <summary>Applies <see cref="SiloKeyedPlacement"/>.</summary>
    public SiloKeyedPlacementAttribute()
        : base(SiloKeyedPlacement.Instance)
    {
    }
}

/// <summary>Picks the silo a <see cref="SiloKeyedPlacement"/> grain's key names, when that silo is in the cluster.</summary>
internal sealed class SiloKeyedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var key = target.GrainIdentity.Key.ToString();
        SiloAddress silo;
        try
        {
            silo = SiloAddress.FromParsableString(key);
        }
        catch (FormatException ex)
        {
            throw new OrleansException($"Grain {target.GrainIdentity}: its key '{key}' is not a silo address.", ex);
        }

        // A silo that left (or a stale address) must not get the grain placed elsewhere, where it would report on the
        // wrong silo: the caller sees the failure instead.
        return Array.IndexOf(context.GetCompatibleSilos(target), silo) >= 0
            ? Task.FromResult(silo)
            : throw new SiloUnavailableException($"Silo {silo} is not in the cluster (any more); grain {target.GrainIdentity} cannot be placed on it.");
    }
}
