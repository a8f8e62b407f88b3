namespace IsoCluster.Grains.SourceIso;

/// <summary>The outcome of talking to an upstream. The gateway maps each value to an HTTP status in one place.</summary>
public enum UpstreamStatus
{
    /// <summary>The bytes or metadata were read.</summary>
    Ok = 0,

    /// <summary>The upstream could not be connected to, or the connection broke.</summary>
    Unreachable = 1,

    /// <summary>The upstream did not answer within the configured timeout.</summary>
    TimedOut = 2,

    /// <summary>The upstream answered with an error status or a response that does not fit the request.</summary>
    BadResponse = 3,

    /// <summary>A redirect pointed somewhere the policy forbids (scheme, allowlist) or the chain was too long.</summary>
    RedirectRejected = 4,

    /// <summary>The upstream ISO changed since its version was read; the version must be read again.</summary>
    VersionChanged = 5,

    /// <summary>
    /// A client-supplied source's host resolved only to addresses a client may not reach (loopback, link-local, metadata,
    /// private, reserved) and the operator did not allow; nothing was connected to.
    /// </summary>
    AddressRefused = 6,

    /// <summary>
    /// This silo's fetches from the upstream server were all taken and its queue full, or no fetch slot came free within
    /// the retry deadline: the cluster is busy, not the upstream broken. Try again shortly.
    /// </summary>
    Busy = 7,
}
