using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// Decides which source ISO a prewarm may fetch, and under which origin, so that its chunks are the very ones boots
/// read (a chunk's key carries its source's origin). A prewarm never widens what the cluster may fetch (DESIGN
/// invariant 6): it takes the sources an operator configured, and otherwise only what <c>?sourceISO=</c> could name.
/// </summary>
internal sealed class PrewarmSource
{
    private readonly IsoOptions _iso;
    private readonly UpstreamUrlPolicy _policy;
    private readonly IHardwareSource _hardware;

    public PrewarmSource(IOptions<IsoOptions> iso, UpstreamUrlPolicy policy, IHardwareSource hardware)
    {
        _iso = iso.Value;
        _policy = policy;
        _hardware = hardware;
    }

    /// <summary>
    /// The source for <paramref name="requested"/>: the default source ISO when null; an operator source when it is
    /// <c>--iso-upstream-url</c> or a Hardware's <c>isoboot.sourceISO</c>; else a client source inside
    /// <c>--iso-source-allow</c>. Null with the reason otherwise.
    /// </summary>
    public IsoSource? Resolve(string? requested, out string reason)
    {
        reason = "";
        if (requested is null)
        {
            if (string.IsNullOrEmpty(_iso.UpstreamUrl))
            {
                reason = "no sourceIso given and no default source ISO (--iso-upstream-url) configured";
                return null;
            }

            // Validated at start, so it parses.
            _ = UpstreamUrlPolicy.TryParseOperatorSource(_iso.UpstreamUrl, out var defaultUrl, out _);
            return new IsoSource(defaultUrl, IsoSourceOrigin.Operator);
        }

        if (AdminSourceUrl.TryParse(requested, out var url, out _) && IsOperatorSource(url))
        {
            return new IsoSource(url, IsoSourceOrigin.Operator);
        }

        if (!UpstreamUrlPolicy.TryParseHttpUrl(requested, out var httpUrl, out var httpReason))
        {
            reason = $"sourceIso: {httpReason}";
            return null;
        }

        if (!_policy.IsAllowedForClient(httpUrl))
        {
            reason = $"sourceIso '{IsoSource.ForDisplay(requested)}' is not allowed: it is not --iso-upstream-url, no Hardware's isoboot.sourceISO names it, and it matches no --iso-source-allow prefix";
            return null;
        }

        return new IsoSource(requested, IsoSourceOrigin.Client);
    }

    private bool IsOperatorSource(string url)
    {
        if (!string.IsNullOrEmpty(_iso.UpstreamUrl)
            && UpstreamUrlPolicy.TryParseOperatorSource(_iso.UpstreamUrl, out var defaultUrl, out _)
            && defaultUrl == url)
        {
            return true;
        }

        foreach (var named in _hardware.SourceIsos)
        {
            if (UpstreamUrlPolicy.TryParseOperatorSource(named, out var namedUrl, out _) && namedUrl == url)
            {
                return true;
            }
        }

        return false;
    }
}
