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

    /// <summary>
    /// The kernel command line this machine gets and where each token came from, built by the same code as its boot
    /// plan: <see cref="Admin.AdminStatus.NotFound"/> for a MAC no Hardware has, <see cref="Admin.AdminStatus.Unavailable"/>
    /// while the Hardware source cannot answer.
    /// </summary>
    [Alias("Explain")]
    ValueTask<Admin.AdminResult<MachineExplanation>> ExplainAsync(CancellationToken cancellationToken = default);
}

/// <summary>A machine's kernel command line and its provenance, for <c>GET /api/explain/{mac}</c>.</summary>
/// <param name="Mac">The machine's MAC, normalized.</param>
/// <param name="Hardware">The Hardware object: <c>namespace/name</c>, or its name when it has no namespace.</param>
/// <param name="SourceIso">The source ISO it boots from (as shown in logs), or null when there is none.</param>
/// <param name="SourceIsoFrom">Which setting or Hardware field names that source ISO.</param>
/// <param name="KernelCommandLine">
/// The exact text written over the magic string (then padded with spaces to its length), or null when it is refused.
/// </param>
/// <param name="Parts">Each token in order and where it came from.</param>
/// <param name="MagicStringLength">The magic string's length: the most the command line may take.</param>
/// <param name="Error">Why the machine cannot boot (unsafe values, too long, no source ISO), or null.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.MachineExplanation")]
public sealed record MachineExplanation(
    [property: Id(0)] string Mac,
    [property: Id(1)] string Hardware,
    [property: Id(2)] string? SourceIso,
    [property: Id(3)] string SourceIsoFrom,
    [property: Id(4)] string? KernelCommandLine,
    [property: Id(5)] IReadOnlyList<KernelParamPart> Parts,
    [property: Id(6)] int MagicStringLength,
    [property: Id(7)] string? Error);
