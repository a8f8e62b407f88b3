namespace IsoCluster.Grains;

/// <summary>Names shared by the silo-side metrics.</summary>
public static class GrainsMetrics
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> name for everything the silos measure.</summary>
    public const string MeterName = "IsoCluster.Grains";
}
