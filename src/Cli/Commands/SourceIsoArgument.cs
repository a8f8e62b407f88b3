namespace IsoCluster.Cli.Commands;

/// <summary>A source ISO as typed on the command line.</summary>
internal static class SourceIsoArgument
{
    /// <summary>
    /// A URL as given; a relative path made absolute against the directory the command runs in (DESIGN invariant 9), as
    /// the server would otherwise have to guess its own. The server refuses relative paths for that reason.
    /// </summary>
    public static string? Resolve(string? text) =>
        string.IsNullOrWhiteSpace(text) || Uri.TryCreate(text, UriKind.Absolute, out _) || Path.IsPathFullyQualified(text)
            ? text
            : Path.GetFullPath(text);
}
