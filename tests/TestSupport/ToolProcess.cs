using System.ComponentModel;
using System.Diagnostics;

namespace IsoCluster.TestSupport;

/// <summary>What a finished tool printed, and how it ended.</summary>
public sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// Runs an external tool (xorriso, QEMU, a script) the way every test here must: an argument list (no shell),
/// both pipes drained, and a deadline after which the process tree is killed by PID.
/// </summary>
public static class ToolProcess
{
    /// <summary>
    /// Runs <paramref name="fileName"/> to completion. A <see cref="TimeoutException"/> after
    /// <paramref name="timeout"/> names the PID and carries stderr so far.
    /// </summary>
    public static async Task<ToolResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"Could not start '{fileName}' ({e.Message}). `bash scripts/test.sh` installs the tools the tests use.", e);
        }

        process.StandardInput.Close();

        // Both pipes are drained concurrently: a tool blocks once either OS pipe buffer is full.
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            var pid = process.Id;
            KillQuietly(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"'{fileName} {string.Join(' ', startInfo.ArgumentList)}' (pid {pid}) ran longer than {timeout.TotalSeconds} s " +
                $"and was killed. stderr so far:\n{await TailAsync(stderr)}");
        }

        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException)
        {
            // It exited between the deadline and the kill: nothing left to stop.
        }
    }

    private static async Task<string> TailAsync(Task<string> stream)
    {
        try
        {
            return await stream.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            return "(stderr not closed after kill)";
        }
    }
}
