namespace IsoCluster.Grains.Machines;

/// <summary>Where a machine's boot stands.</summary>
public enum BootState
{
    /// <summary>Reading, and its latest answer was a success.</summary>
    Booting = 0,

    /// <summary>It stopped reading, its latest answer a success, for the boot-session idle time.</summary>
    Finished = 1,

    /// <summary>Its latest answer was an error, with no successful read since.</summary>
    Failed = 2,
}

/// <summary>A machine's current (or last) boot as operators see it, across every gateway that served it.</summary>
/// <param name="Mac">The machine's MAC, lowercase with colons.</param>
/// <param name="State">Where the boot stands.</param>
/// <param name="SourceIso">The source ISO's URL without query or user information, or null when unknown.</param>
/// <param name="VersionId">The source ISO version the boot reads, or null when none could be read.</param>
/// <param name="IsoLength">That version's length in bytes; 0 when unknown.</param>
/// <param name="BytesServed">Response body bytes served in this boot.</param>
/// <param name="DistinctBytes">Bytes of the ISO served at least once, counted in <see cref="BootReadReport.BlockSize"/> blocks.</param>
/// <param name="Requests">ISO requests answered in this boot.</param>
/// <param name="FirstRead">When the boot's first request was answered.</param>
/// <param name="LastRead">When its latest request was answered.</param>
/// <param name="BytesPerSecond">Bytes served per second over about the last 5 seconds.</param>
/// <param name="LastError">The latest error answer as status and reason, or null when it had none.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.MachineBoot")]
public sealed record MachineBoot(
    [property: Id(0)] string Mac,
    [property: Id(1)] BootState State,
    [property: Id(2)] string? SourceIso,
    [property: Id(3)] string? VersionId,
    [property: Id(4)] long IsoLength,
    [property: Id(5)] long BytesServed,
    [property: Id(6)] long DistinctBytes,
    [property: Id(7)] long Requests,
    [property: Id(8)] DateTimeOffset FirstRead,
    [property: Id(9)] DateTimeOffset LastRead,
    [property: Id(10)] double BytesPerSecond,
    [property: Id(11)] string? LastError);
