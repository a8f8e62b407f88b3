namespace IsoCluster.Cli.Api;

// The admin API's JSON, as the README documents it. Only what the commands show is read; unknown fields are ignored,
// so a newer server still works with this CLI.

/// <summary><c>POST /api/prewarm</c> and <c>GET /api/prewarm/{id}</c>.</summary>
public sealed record PrewarmProgress(
    string Id,
    string SourceIso,
    string VersionId,
    long IsoLength,
    long ChunksTotal,
    long ChunksDone,
    long BytesDone,
    string State,
    string? Error,
    string? Warning);

/// <summary><c>POST /api/purge</c>.</summary>
public sealed record PurgeResult(string SourceIso, long ChunksPurged, long BytesPurged, int Silos, long GatewayChunksPurged, long GatewayBytesPurged);

/// <summary><c>GET /api/explain/{mac}</c>.</summary>
public sealed record Explanation(
    string Mac,
    string Hardware,
    string? SourceIso,
    string? SourceIsoFrom,
    string? KernelCommandLine,
    IReadOnlyList<ExplainedPart> Parts,
    int MagicStringLength,
    string? Error);

/// <summary>One token of an explained command line.</summary>
public sealed record ExplainedPart(string Text, string From, string Setting);

/// <summary><c>GET /api/cache</c>: the cluster's chunk cache per source ISO version (summed over the silos) and per silo.</summary>
public sealed record CacheReport(DateTimeOffset GeneratedAt, IReadOnlyList<VersionCache> Sources, IReadOnlyList<SiloCache> Silos);

/// <summary>What the silos hold of one source ISO version, and how they answered reads of it.</summary>
public sealed record VersionCache(string SourceIso, string VersionId, long IsoLength, long CachedBytes, long Chunks, long Hits, long Misses);

/// <summary>One silo's cache, or why it did not answer (<see cref="Error"/>).</summary>
public sealed record SiloCache(string Silo, string? Name, long CachedBytes, long Chunks, long BudgetBytes, string? Error);

/// <summary><c>GET /api/machines</c>.</summary>
public sealed record MachineList(DateTimeOffset GeneratedAt, IReadOnlyList<MachineState> Machines);

/// <summary>
/// One machine's boot as <c>GET /api/machines</c> reports it. A boot that failed before any version of its source ISO
/// was read has no <see cref="VersionId"/> (and no <see cref="SourceIso"/> when it had none) and an
/// <see cref="IsoLength"/> of 0.
/// </summary>
public sealed record MachineState(
    string Mac,
    string State,
    string? SourceIso,
    string? VersionId,
    long IsoLength,
    long BytesServed,
    long DistinctBytes,
    long Requests,
    DateTimeOffset FirstRead,
    DateTimeOffset LastRead,
    double BytesPerSecond,
    string? LastError);

/// <summary>The body of <c>POST /api/prewarm</c> and <c>POST /api/purge</c>.</summary>
public sealed record SourceIsoRequest(string? SourceIso);
