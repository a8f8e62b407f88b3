namespace IsoCluster.Grains.Machines;

/// <summary>
/// What one gateway saw of one machine's requests for one version of its source ISO since its last report. A gateway
/// adds up requests in memory while it serves them and sends one report per machine about once a second, so boot
/// progress costs no grain call per request.
/// </summary>
/// <param name="SourceIso">The source ISO's URL as logs show it (no query, no user information), or null when unknown.</param>
/// <param name="VersionId">The pinned version of the source ISO, or null when no version could be read.</param>
/// <param name="IsoLength">The length of that version in bytes; 0 when unknown.</param>
/// <param name="BytesServed">Response body bytes written to the machine.</param>
/// <param name="Requests">ISO requests answered, whatever the answer.</param>
/// <param name="FirstRead">When the first of those requests was answered.</param>
/// <param name="LastRead">When the last of those requests was answered.</param>
/// <param name="LastSuccess">When the last request answered with 2xx or 304 was answered, or null when none was.</param>
/// <param name="LastError">The last error answer, or null when there was none.</param>
/// <param name="FirstWord">The index in the whole ISO's block bitmap of <paramref name="BlockWords"/>' first word.</param>
/// <param name="BlockWords">
/// The <see cref="BlockSize"/> blocks of the ISO that bytes were served from, a bit per block (block <c>b</c> is bit
/// <c>b % 64</c> of word <c>b / 64</c>), covering only the words with bits set.
/// </param>
[GenerateSerializer, Immutable, Alias("IsoCluster.BootReadReport")]
public sealed record BootReadReport(
    [property: Id(0)] string? SourceIso,
    [property: Id(1)] string? VersionId,
    [property: Id(2)] long IsoLength,
    [property: Id(3)] long BytesServed,
    [property: Id(4)] int Requests,
    [property: Id(5)] DateTimeOffset FirstRead,
    [property: Id(6)] DateTimeOffset LastRead,
    [property: Id(7)] DateTimeOffset? LastSuccess,
    [property: Id(8)] BootReadError? LastError,
    [property: Id(9)] int FirstWord,
    [property: Id(10)] ulong[] BlockWords)
{
    /// <summary>
    /// The granularity of distinct bytes: 64 KiB, a typical BMC read. A block counts as read once any of its bytes was
    /// served, so reads of 64 KiB-aligned ranges are counted exactly.
    /// </summary>
    public const int BlockSize = 64 * 1024;

    /// <summary>How many 64-bit words the block bitmap of an ISO of <paramref name="isoLength"/> bytes takes.</summary>
    public static int WordCount(long isoLength) => (int)((((isoLength + BlockSize - 1) / BlockSize) + 63) / 64);
}

/// <summary>An error answer to one of a machine's ISO requests.</summary>
/// <param name="StatusCode">The HTTP status the machine got (502 also for a response cut short after its headers).</param>
/// <param name="Reason">The one-line reason the machine got.</param>
/// <param name="At">When it was answered.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.BootReadError")]
public sealed record BootReadError(
    [property: Id(0)] int StatusCode,
    [property: Id(1)] string Reason,
    [property: Id(2)] DateTimeOffset At)
{
    /// <summary>The status and the reason, e.g. <c>502 upstream: the ISO server could not be reached</c>.</summary>
    public override string ToString() => $"{StatusCode} {Reason}";
}
