namespace IsoCluster.Grains.SourceIso;

/// <summary>Where a source ISO URL came from; decides which redirect targets may be followed.</summary>
public enum IsoSourceOrigin
{
    /// <summary>From operator configuration: a Hardware object or <c>--iso-upstream-url</c>.</summary>
    Operator = 0,

    /// <summary>From a client's <c>?sourceISO=</c> query parameter; every hop must match the operator allowlist.</summary>
    Client = 1,
}

/// <summary>
/// An upstream ISO URL together with its origin. Its <see cref="GrainKey"/> names the <see cref="ISourceIsoGrain"/>.
/// The URL is http(s), or for an operator's local file the canonical absolute <c>file:///</c> URL.
/// </summary>
[GenerateSerializer, Immutable, Alias("IsoCluster.IsoSource")]
public sealed record IsoSource(
    [property: Id(0)] string Url,
    [property: Id(1)] IsoSourceOrigin Origin)
{
    /// <summary>
    /// The URL for logs and error messages: without its query or user information, which for presigned URLs
    /// hold credentials; a local file shows as its path.
    /// </summary>
    public string DisplayUrl => ForDisplay(Url);

    /// <summary>The path of the local file a <c>file:</c> URL names, or null when the source is not a local file.</summary>
    public string? LocalPath => LocalPathOf(Url);

    /// <summary>The key of the grain that owns this source.</summary>
    public string GrainKey => $"{(Origin == IsoSourceOrigin.Client ? "client" : "operator")}|{Url}";

    /// <summary>Shortens any URL as <see cref="DisplayUrl"/> does.</summary>
    public static string ForDisplay(string url) =>
        LocalPathOf(url) is { } path
            ? path
            : Uri.TryCreate(url, UriKind.Absolute, out var uri)
                ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) + (uri.Query.Length > 0 ? "?…" : "")
                : url;

    /// <summary>The path of the local file <paramref name="url"/> names when it is a <c>file:</c> URL without a host, else null.</summary>
    public static string? LocalPathOf(string url)
    {
        ArgumentNullException.ThrowIfNull(url);

        // Uri also takes a bare "/path" as a file URL; only an explicit file: URL names a file here.
        return url.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            && Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && uri.IsFile
            && !uri.IsUnc
            ? uri.LocalPath
            : null;
    }

    /// <summary>Parses a key produced by <see cref="GrainKey"/>.</summary>
    public static IsoSource FromGrainKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var separator = key.IndexOf('|', StringComparison.Ordinal);
        if (separator < 0)
        {
            throw new ArgumentException($"'{key}' is not a source ISO grain key.", nameof(key));
        }

        var origin = key.AsSpan(0, separator) switch
        {
            "client" => IsoSourceOrigin.Client,
            "operator" => IsoSourceOrigin.Operator,
            _ => throw new ArgumentException($"'{key}' has an unknown origin.", nameof(key)),
        };
        return new IsoSource(key[(separator + 1)..], origin);
    }
}
