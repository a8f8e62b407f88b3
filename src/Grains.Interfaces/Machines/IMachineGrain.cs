namespace IsoCluster.Grains.Machines;

/// <summary>One machine, keyed by its normalized MAC (<see cref="MacAddress.ToString"/>): resolves its boot plan.</summary>
[Alias("IsoCluster.IMachineGrain")]
public interface IMachineGrain : IGrainWithStringKey
{
    /// <summary>
    /// The machine's boot plan, rebuilt when its Hardware changes, with the source ISO version the machine reads.
    /// The version stays pinned while the machine keeps reading (a boot), and is read afresh for the next boot.
    /// </summary>
    /// <param name="sourceIsoOverride">The raw <c>?sourceISO=</c> value, or null when the request had none.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    [Alias("GetBootPlan")]
    ValueTask<BootPlanResult> GetBootPlanAsync(string? sourceIsoOverride, CancellationToken cancellationToken = default);

    /// <summary>Unpins <paramref name="versionId"/> after the upstream was found to have changed under this boot.</summary>
    [Alias("ReleaseVersion")]
    Task ReleaseVersionAsync(string versionId);

    /// <summary>Adds what one gateway served this machine since its last report to the machine's boot progress.</summary>
    [Alias("ReportReads")]
    Task ReportReadsAsync(BootReadReport report);

    /// <summary>The machine's current or last boot, or null when it has none since its grain was activated.</summary>
    [Alias("GetBoot")]
    ValueTask<MachineBoot?> GetBootAsync();
}
