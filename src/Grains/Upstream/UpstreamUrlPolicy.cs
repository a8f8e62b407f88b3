using System.Text;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// Decides which URLs the cluster may fetch (DESIGN invariant 6). Operator-configured sources may use any
/// http(s) URL or a local file; a client-supplied <c>?sourceISO=</c> and every redirect hop it leads to must be
/// http(s) and match the allowlist, and no redirect may lead to a file.
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

    /// <summary>
    /// Parses a source ISO an operator configured (<c>--iso-upstream-url</c>, a Hardware's <c>isoboot.sourceISO</c>):
    /// an http(s) URL, kept as written, or a local file given as an absolute path, a path relative to the current
    /// directory, or a <c>file:</c> URL. Every spelling of one file comes back as the same absolute
    /// <c>file:///</c> URL, so they all name one <see cref="ISourceIsoGrain"/>. Never use this for a client's
    /// <c>?sourceISO=</c>: a client may not make the cluster read its own files (DESIGN invariant 6).
    /// </summary>
    /// <param name="text">The configured value.</param>
    /// <param name="url">The URL to fetch: the http(s) URL as given, or the canonical <c>file:///</c> URL.</param>
    /// <param name="reason">Why <paramref name="text"/> was refused; empty on success.</param>
    public static bool TryParseOperatorSource(string? text, out string url, out string reason)
    {
        url = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            reason = "no URL or path is given";
            return false;
        }

        if (!TryGetScheme(text, out var scheme))
        {
            return TryNormalizePath(text, text, out url, out reason);
        }

        if (!scheme.Equals(Uri.UriSchemeFile, StringComparison.OrdinalIgnoreCase))
        {
            if (!TryParseHttpUrl(text, out _, out reason))
            {
                if (!scheme.Equals(Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase) && !scheme.Equals(Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
                {
                    reason = $"'{IsoSource.ForDisplay(text)}' is not an http or https URL, a file:/// URL or a path";
                }

                return false;
            }

            url = text;
            return true;
        }

        // RFC 8089 §2 also allows the host to be left out with its slashes ("file:/srv/hook.iso"), which Uri refuses.
        if (text.Length > 6 && text[5] == '/' && text[6] != '/')
        {
            text = "file://" + text[5..];
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || !parsed.IsFile)
        {
            reason = $"'{text}' is not a file URL; write file:///absolute/path.iso or the path itself";
            return false;
        }

        // RFC 8089 allows "localhost" for this machine; any other host would be a network share the silo does not mount.
        if (parsed.Host.Length > 0 && !parsed.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            reason = $"'{text}' names host '{parsed.Host}'; a local file is file:///absolute/path.iso (three slashes)";
            return false;
        }

        // A '#' or '?' in a file name would otherwise silently cut the path short.
        if (parsed.Query.Length > 0 || parsed.Fragment.Length > 0)
        {
            reason = $"'{text}' has a query or fragment; write '?' as %3F and '#' as %23 in a file URL";
            return false;
        }

        return TryNormalizePath(Uri.UnescapeDataString(parsed.AbsolutePath), text, out url, out reason);
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

    // RFC 3986 §3.1: a scheme is a letter, then letters, digits, '+', '-' or '.', then ':'. A relative path whose first
    // segment holds a ':' is written with a leading "./".
    private static bool TryGetScheme(string text, out string scheme)
    {
        scheme = "";
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 1 || !char.IsAsciiLetter(text[0]))
        {
            return false;
        }

        foreach (var c in text.AsSpan(1, colon - 1))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('+' or '-' or '.'))
            {
                return false;
            }
        }

        scheme = text[..colon];
        return true;
    }

    private static bool TryNormalizePath(string path, string text, out string url, out string reason)
    {
        url = "";
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            reason = $"'{IsoSource.ForDisplay(text)}' holds a NUL character, which no file name can";
            return false;
        }

        // DESIGN invariant 9: a relative path means the directory the command was run from, which is this
        // process's current directory.
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            reason = $"'{IsoSource.ForDisplay(text)}' is not a usable path: {ex.Message}";
            return false;
        }

        url = ToFileUrl(fullPath);
        reason = "";
        return true;
    }

    // Escapes each segment itself rather than trusting Uri's implicit-file-path rules, so that the form is fixed and
    // parsing it again gives it back unchanged.
    private static string ToFileUrl(string fullPath)
    {
        var builder = new StringBuilder("file://", fullPath.Length + 16);
        var segments = fullPath.Split(Path.DirectorySeparatorChar);
        for (var i = 0; i < segments.Length; i++)
        {
            if (i > 0)
            {
                builder.Append('/');
            }

            builder.Append(Uri.EscapeDataString(segments[i]));
        }

        return builder.ToString();
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
