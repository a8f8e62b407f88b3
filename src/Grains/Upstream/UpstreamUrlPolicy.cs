using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// Decides which URLs the cluster may fetch (DESIGN invariant 6). Operator-configured sources may use any
/// http(s) URL; a client-supplied <c>?sourceISO=</c> and every redirect hop it leads to must match the allowlist.
/// </summary>
public sealed class UpstreamUrlPolicy
{
    private readonly Uri[] _allowedPrefixes;

    /// <summary>Creates the policy from the validated <see cref="IsoOptions.SourceAllow"/> list.</summary>
    public UpstreamUrlPolicy(IOptions<IsoOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var prefixes = new List<Uri>();
        foreach (var prefix in options.Value.SourceAllow)
        {
            if (TryParseHttpUrl(prefix, out var uri, out _))
            {
                prefixes.Add(uri);
            }
        }

        _allowedPrefixes = [.. prefixes];
    }

    /// <summary>Parses an absolute http or https URL without user information.</summary>
    public static bool TryParseHttpUrl(string? text, out Uri uri, out string reason)
    {
        uri = null!;
        if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text, UriKind.Absolute, out var parsed))
        {
            reason = $"'{text}' is not an absolute URL";
            return false;
        }

        if (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
        {
            reason = $"'{IsoSource.ForDisplay(text)}' is not an http or https URL";
            return false;
        }

        if (parsed.UserInfo.Length > 0)
        {
            reason = $"'{IsoSource.ForDisplay(text)}' carries user information, which is not allowed";
            return false;
        }

        uri = parsed;
        reason = "";
        return true;
    }

    /// <summary>Whether a client-supplied URL (or a redirect hop of one) matches an allowlisted prefix.</summary>
    public bool IsAllowedForClient(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);

        // Escaped dots and slashes could smuggle "../" past a path-prefix check once the upstream decodes them.
        var path = url.AbsolutePath;
        if (path.Contains("%2e", StringComparison.OrdinalIgnoreCase) || path.Contains("%2f", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var prefix in _allowedPrefixes)
        {
            if (MatchesPrefix(url, prefix))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Checks one hop of a fetch: its scheme, and the allowlist when the source came from a client.</summary>
    public bool IsAllowedHop(Uri url, IsoSourceOrigin origin, out string reason)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
        {
            reason = $"redirect to '{IsoSource.ForDisplay(url.ToString())}' is not http or https";
            return false;
        }

        if (origin == IsoSourceOrigin.Client && !IsAllowedForClient(url))
        {
            reason = $"redirect to '{IsoSource.ForDisplay(url.ToString())}' is outside --iso-source-allow";
            return false;
        }

        reason = "";
        return true;
    }

    // Compares parsed parts rather than strings so that "http://isos.example" cannot admit
    // "http://isos.example.attacker.net/" and "/isos" cannot admit "/isos-private/".
    private static bool MatchesPrefix(Uri url, Uri prefix)
    {
        if (url.Scheme != prefix.Scheme
            || url.Port != prefix.Port
            || !string.Equals(url.IdnHost, prefix.IdnHost, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var prefixPath = prefix.AbsolutePath;
        var path = url.AbsolutePath;
        if (!path.StartsWith(prefixPath, StringComparison.Ordinal))
        {
            return false;
        }

        return prefixPath.EndsWith('/') || path.Length == prefixPath.Length || path[prefixPath.Length] == '/';
    }
}
