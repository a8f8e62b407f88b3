using IsoCluster.Grains.Upstream;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// How the admin API reads a source ISO named in a request: as an operator source (an http(s) URL as given, a file as its
/// canonical <c>file:///</c> URL) but never as a relative path, which would mean the server's working directory rather
/// than anything the caller can see.
/// </summary>
internal static class AdminSourceUrl
{
    public static bool TryParse(string? text, out string url, out string reason)
    {
        url = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            reason = "no URL or path is given";
            return false;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out _) && !Path.IsPathFullyQualified(text))
        {
            reason = $"'{text}' is not an absolute URL or an absolute path";
            return false;
        }

        return UpstreamUrlPolicy.TryParseOperatorSource(text, out url, out reason);
    }
}
