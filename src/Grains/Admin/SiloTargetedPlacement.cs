using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// Places a grain on the silo its key names (<c>SiloAddress.ToParsableString()</c>), so that a call reaches that silo's
/// own in-memory state: each silo's chunk cache is its own, and a purge must reach every one of them.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class SiloTargetedPlacement : PlacementStrategy
{
    /// <summary>The one instance.</summary>
    public static SiloTargetedPlacement Instance { get; } = new();
}

/// <summary>Marks a grain class placed by <see cref="SiloTargetedPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloTargetedPlacementAttribute : PlacementAttribute
{
    /// <summary>Creates the attribute.</summary>
    public SiloTargetedPlacementAttribute()
        : base(SiloTargetedPlacement.Instance)
    {
    }
}

/// <summary>Puts the activation on the silo named by the grain's key, and refuses when that silo is not active.</summary>
internal sealed class SiloTargetedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        SiloAddress wanted;
        try
        {
            wanted = SiloAddress.FromParsableString(key);
        }
        catch (FormatException ex)
        {
            throw new OrleansException($"'{key}' is not a silo address; a silo-targeted grain is keyed by one", ex);
        }

        // An activation anywhere else would answer for the wrong silo's memory: better to fail the call.
        foreach (var silo in context.GetCompatibleSilos(target))
        {
            if (silo.Equals(wanted))
            {
                return Task.FromResult(silo);
            }
        }

        throw new OrleansException($"silo {key} is not an active member of the cluster");
    }
}
