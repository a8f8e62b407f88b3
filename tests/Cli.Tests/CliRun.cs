namespace IsoCluster.Cli.Tests;

/// <summary>What one run of the CLI printed, and its exit code.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    /// <summary>Standard output's lines, without the line ends.</summary>
    public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r')).ToArray();

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}--- stderr\n{Error}";
}

/// <summary>Runs <c>isocluster</c> in-process through its real command line (<see cref="IsoClusterCli.RunAsync"/>).</summary>
public static class CliRun
{
    public static async Task<CliResult> RunAsync(IEnumerable<string> args, bool terminal = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var host = new CliHost(output, error, terminal, name => environment?.GetValueOrDefault(name))
        {
            PollInterval = TimeSpan.FromMilliseconds(20),
        };
        var exitCode = await IsoClusterCli.RunAsync([.. args], host);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
