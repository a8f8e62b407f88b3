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

/// <summary><c>GET /api/cache/summary</c>.</summary>
public sealed record CacheSummary(long Chunks, long Bytes, long CapacityBytes, IReadOnlyList<SourceCache> Sources, IReadOnlyList<SiloCache> Silos);

/// <summary>What a cache holds of one source ISO.</summary>
public sealed record SourceCache(string SourceIso, long Chunks, long Bytes);

/// <summary>One silo's cache.</summary>
public sealed record SiloCache(string Silo, long Chunks, long Bytes, long CapacityBytes);

/// <summary><c>GET /api/machines</c>.</summary>
public sealed record MachineList(DateTimeOffset GeneratedAt, IReadOnlyList<MachineState> Machines);

/// <summary>One machine's boot as <c>GET /api/machines</c> reports it.</summary>
public sealed record MachineState(
    string Mac,
    string State,
    string? SourceIso,
    string? VersionId,
    long? IsoLength,
    long BytesServed,
    long DistinctBytes,
    long Requests,
    DateTimeOffset? FirstRead,
    DateTimeOffset? LastRead,
    double? BytesPerSecond,
    string? LastError);

/// <summary>The body of <c>POST /api/prewarm</c> and <c>POST /api/purge</c>.</summary>
public sealed record SourceIsoRequest(string? SourceIso);
