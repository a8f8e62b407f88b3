namespace IsoCluster.Cli;

/// <summary>What the commands run against: where they write, whether that is a terminal, and the environment.</summary>
/// <param name="Output">Standard output: results.</param>
/// <param name="Error">Standard error: failures and warnings, one line each.</param>
/// <param name="IsTerminal">Whether <paramref name="Output"/> is a terminal (progress is then a bar redrawn in place).</param>
/// <param name="Variable">Reads an environment variable (null when unset).</param>
public sealed record CliHost(TextWriter Output, TextWriter Error, bool IsTerminal, Func<string, string?> Variable)
{
    /// <summary>How often <c>prewarm</c> asks for progress.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The process's own console and environment.</summary>
    public static CliHost FromConsole() =>
        new(Console.Out, Console.Error, !Console.IsOutputRedirected, Environment.GetEnvironmentVariable);
}
