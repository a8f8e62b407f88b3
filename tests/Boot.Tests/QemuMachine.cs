using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using IsoCluster.TestSupport;

namespace IsoCluster.Boot.Tests;

/// <summary>What one VM printed between the init's markers, and its whole serial log for diagnosis.</summary>
public sealed record BootOutcome(string? KernelCommandLine, string SerialLog, TimeSpan Elapsed);

/// <summary>
/// Boots a QEMU VM (TCG by default) whose CD-ROM is attached through QEMU's curl block driver, the way a BMC's
/// virtual media reads an ISO: HTTP(S) range requests against the URL. The VM is killed by PID at its timeout.
/// </summary>
public static partial class QemuMachine
{
    public const string BeginMarker = "ISOCLUSTER-CMDLINE-BEGIN";
    public const string EndMarker = "ISOCLUSTER-CMDLINE-END";

    /// <summary>
    /// Accelerator from <c>ISOCLUSTER_QEMU_ACCEL</c>; TCG by default because a /dev/kvm that exists may still be
    /// unusable (nested virtualization here turned a 10 s TCG boot into a 2 min stall).
    /// </summary>
    public static string Accelerator => Environment.GetEnvironmentVariable("ISOCLUSTER_QEMU_ACCEL") is { Length: > 0 } accel ? accel : "tcg";

    public static async Task<BootOutcome> BootAsync(Uri isoUrl, string workDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var serialLog = Path.Combine(workDirectory, $"serial-{Guid.NewGuid():N}.log");
        var https = isoUrl.Scheme == Uri.UriSchemeHttps;

        // sslverify=off: the gateway's test certificate is self-signed; a BMC would be given the CA instead.
        var drive = $"file.driver={(https ? "https" : "http")},file.url={isoUrl},{(https ? "file.sslverify=off," : "")}" +
                    "media=cdrom,if=ide,readonly=on,format=raw";
        string[] args =
        [
            "-machine", $"pc,accel={Accelerator}", "-m", "256", "-nodefaults", "-display", "none", "-no-reboot",
            "-serial", $"file:{serialLog}", "-drive", drive, "-boot", "d",
        ];
        var stopwatch = Stopwatch.StartNew();
        string qemuOutcome;
        try
        {
            var result = await ToolProcess.RunAsync("qemu-system-x86_64", args, timeout, cancellationToken);
            qemuOutcome = $"qemu exit code {result.ExitCode}; stderr: {result.StandardError.Trim()}";
        }
        catch (TimeoutException ex)
        {
            // A VM that never powers off is a failed boot, reported with its serial log rather than thrown.
            qemuOutcome = ex.Message;
        }

        var log = File.Exists(serialLog) ? await File.ReadAllTextAsync(serialLog, Encoding.Latin1, CancellationToken.None) : "";
        log += $"{Environment.NewLine}[{qemuOutcome}]";
        return new BootOutcome(CommandLineBetweenMarkers(log), log, stopwatch.Elapsed);
    }

    // The kernel shares the serial port; its "[    2.13] ..." lines are dropped should any land between the markers.
    private static string? CommandLineBetweenMarkers(string log)
    {
        var begin = log.IndexOf(BeginMarker, StringComparison.Ordinal);
        var end = begin < 0 ? -1 : log.IndexOf(EndMarker, begin, StringComparison.Ordinal);
        if (end < 0)
        {
            return null;
        }

        var lines = log[(begin + BeginMarker.Length)..end]
            .Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !KernelLogLine().IsMatch(line));
        return string.Join('\n', lines);
    }

    [GeneratedRegex(@"^\[\s*\d+\.\d+\]")]
    private static partial Regex KernelLogLine();
}
