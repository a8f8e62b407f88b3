namespace IsoCluster.EndToEnd.Tests.FirstRun;

/// <summary>The repository a user cloned, found above the test binaries.</summary>
internal static class RepositoryFiles
{
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The first <c>```sh</c> block under <paramref name="heading"/> in README.md, exactly as a user would copy it
    /// (line continuations included: bash reads them as one command).
    /// </summary>
    public static string ReadmeCommand(string heading)
    {
        var lines = File.ReadAllLines(Path.Combine(Root, "README.md"));
        var section = Array.FindIndex(lines, line => line.Trim() == heading);
        if (section < 0)
        {
            throw new InvalidOperationException($"README.md has no '{heading}' heading");
        }

        var start = Array.FindIndex(lines, section, line => line.Trim() == "```sh");
        var end = Array.FindIndex(lines, start + 1, line => line.Trim() == "```");
        if (start < 0 || end < 0)
        {
            throw new InvalidOperationException($"README.md has no ```sh block under '{heading}'");
        }

        return string.Join('\n', lines[(start + 1)..end]);
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IsoCluster.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("IsoCluster.sln not found above the test binaries");
    }
}
