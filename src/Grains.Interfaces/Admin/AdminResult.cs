namespace IsoCluster.Grains.Admin;

/// <summary>How an admin call ended; the admin endpoints map each to an HTTP status in one place.</summary>
public enum AdminStatus
{
    /// <summary>Done (200, or 202 for a started prewarm).</summary>
    Ok = 0,

    /// <summary>The request names something that cannot be used, such as a source ISO outside the policy (400).</summary>
    BadRequest = 1,

    /// <summary>What the request names does not exist (404).</summary>
    NotFound = 2,

    /// <summary>The upstream could not be read (502).</summary>
    UpstreamFailed = 3,

    /// <summary>Something the answer needs is not available yet, such as the Hardware source (503).</summary>
    Unavailable = 4,
}

/// <summary>An admin call's value, or why there is none.</summary>
/// <param name="Status">How the call ended.</param>
/// <param name="Value">The value when <see cref="AdminStatus.Ok"/>.</param>
/// <param name="Reason">One line saying why, otherwise.</param>
[GenerateSerializer, Immutable, Alias("IsoCluster.AdminResult`1")]
public sealed record AdminResult<T>(
    [property: Id(0)] AdminStatus Status,
    [property: Id(1)] T? Value,
    [property: Id(2)] string? Reason);

/// <summary>Makes <see cref="AdminResult{T}"/> values.</summary>
public static class AdminResult
{
    /// <summary>A successful result.</summary>
    public static AdminResult<T> Ok<T>(T value) => new(AdminStatus.Ok, value, null);

    /// <summary>A failed result.</summary>
    public static AdminResult<T> Fail<T>(AdminStatus status, string reason) => new(status, default, reason);
}
