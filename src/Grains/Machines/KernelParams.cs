using System.Diagnostics.CodeAnalysis;
using System.Text;
using IsoCluster.Grains.Hardware;

namespace IsoCluster.Grains.Machines;

/// <summary>A kernel command line, or why one could not be built.</summary>
public sealed class KernelParamsResult
{
    private KernelParamsResult(string? commandLine, string? error)
    {
        CommandLine = commandLine;
        Error = error;
    }

    /// <summary>Whether <see cref="CommandLine"/> holds a command line.</summary>
    [MemberNotNullWhen(true, nameof(CommandLine))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => CommandLine is not null;

    /// <summary>The command line (printable ASCII, tokens separated by single spaces), or null on failure.</summary>
    public string? CommandLine { get; }

    /// <summary>Every problem, naming the MAC and the field or setting, or null on success.</summary>
    public string? Error { get; }

    /// <summary>A result holding <paramref name="commandLine"/>.</summary>
    /// <param name="commandLine">The command line.</param>
    public static KernelParamsResult Success(string commandLine) => new(commandLine, null);

    /// <summary>A result holding <paramref name="error"/>.</summary>
    /// <param name="error">Why no command line could be built.</param>
    public static KernelParamsResult Failure(string error) => new(null, error);

    /// <summary>The command line as the bytes written over the magic string.</summary>
    /// <returns>The ASCII bytes.</returns>
    /// <exception cref="InvalidOperationException">The result is a failure.</exception>
    public byte[] ToAscii() => IsSuccess
        ? Encoding.ASCII.GetBytes(CommandLine)
        : throw new InvalidOperationException($"No kernel parameters: {Error}");
}

/// <summary>
/// Builds the kernel command line that Tinkerbell's ISO boot writes over the magic string, token for token as
/// Tinkerbell does, and refuses any value that GRUB would reinterpret when it re-parses the line.
/// </summary>
public static class KernelParams
{
    /// <summary>The consoles added unless the facility names its own.</summary>
    public const string DefaultConsoles = "console=ttyAMA0 console=ttyS0 console=tty0 console=tty1 console=ttyS1";

    /// <summary>The command-line flag names used in errors about <see cref="BootOptions"/>.</summary>
    public const string SyslogHostFlag = "--syslog-host";

    /// <inheritdoc cref="SyslogHostFlag"/>
    public const string TinkServerAddrPortFlag = "--tink-server-addr-port";

    /// <inheritdoc cref="SyslogHostFlag"/>
    public const string ExtraKernelArgsFlag = "--extra-kernel-args";

    /// <summary>Builds the command line for <paramref name="machine"/>.</summary>
    /// <param name="machine">The machine, whose MAC and Hardware fields fill the tokens.</param>
    /// <param name="options">The settings shared by every machine.</param>
    /// <returns>The command line, or every unsafe field and setting, each named with the machine's MAC.</returns>
    public static KernelParamsResult Build(MachineRecord machine, BootOptions options)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(options);
        var nic = machine.Interface;
        var mac = nic.Mac.ToString();

        var problems = new List<string>();
        foreach (var problem in ValidateOptions(options))
        {
            problems.Add($"{mac}: {problem}");
        }

        foreach (var (field, value) in HardwareValues(machine))
        {
            if (KernelParamsSafety.FindProblem(value) is { } problem)
            {
                problems.Add($"{mac}: {field} {problem}");
            }
        }

        if (problems.Count > 0)
        {
            return KernelParamsResult.Failure(string.Join("; ", problems));
        }

        // Tinkerbell's order (smee's ISO handler): extra args, consoles or facility, then the machine's identity.
        var line = new StringBuilder(512);
        foreach (var token in SplitTokens(options.ExtraKernelArgs))
        {
            Append(line, token);
        }

        // A facility code is a list of kernel parameters; one that names consoles replaces the defaults instead of
        // adding to them, which is how Tinkerbell operators give a machine its own console.
        var facility = SplitFacility(machine.Facility);
        var facilityNamesConsole = false;
        for (var i = 0; i < facility.Length; i++)
        {
            Append(line, i == 0 ? "facility=" : null, facility[i]);
            facilityNamesConsole |= facility[i].Contains("console=", StringComparison.Ordinal);
        }

        if (!facilityNamesConsole)
        {
            Append(line, DefaultConsoles);
        }

        if (!string.IsNullOrEmpty(nic.VlanId))
        {
            Append(line, "vlan_id=", nic.VlanId);
        }

        Append(line, "hw_addr=", mac);
        Append(line, "syslog_host=", options.SyslogHost);
        Append(line, "grpc_authority=", options.TinkServerAddrPort);
        Append(line, "tinkerbell_tls=", options.TinkServerUseTls ? "true" : "false");
        Append(line, "worker_id=", mac);
        if (options.StaticIpamEnabled)
        {
            // HookOS's static-ipam script splits on ':' and ','; empty fields keep their place.
            Append(line, "ipam=", string.Join(':',
                nic.Mac.ToDashedString(),
                nic.VlanId,
                nic.IpAddress,
                nic.Netmask,
                nic.Gateway,
                nic.Hostname,
                string.Join(',', nic.NameServers),
                string.Join(',', nic.SearchDomains),
                string.Join(',', nic.TimeServers)));
        }

        return KernelParamsResult.Success(line.ToString());
    }

    /// <summary>
    /// Checks the settings alone, so the host can refuse bad flags at startup instead of failing every boot.
    /// </summary>
    /// <param name="options">The settings.</param>
    /// <returns>Every problem, each naming the flag; empty when the settings are safe.</returns>
    public static IReadOnlyList<string> ValidateOptions(BootOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        Check(problems, SyslogHostFlag, options.SyslogHost);
        Check(problems, TinkServerAddrPortFlag, options.TinkServerAddrPort);

        // The separators between extra tokens are ours to drop; only what is inside a token reaches GRUB.
        foreach (var token in SplitTokens(options.ExtraKernelArgs))
        {
            Check(problems, ExtraKernelArgsFlag, token);
        }

        return problems;
    }

    private static void Check(List<string> problems, string setting, string? value)
    {
        if (KernelParamsSafety.FindProblem(value) is { } problem)
        {
            problems.Add($"{setting} {problem}");
        }
    }

    // Whitespace between tokens is ours to drop (runs of it give no empty tokens); only a token's own characters reach GRUB.
    private static string[] SplitTokens(string? list) =>
        string.IsNullOrEmpty(list)
            ? []
            : list.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);

    // Only spaces separate a facility's parameters, as in Tinkerbell; a tab or newline stays in its token and is refused.
    private static string[] SplitFacility(string? facility) =>
        string.IsNullOrEmpty(facility) ? [] : facility.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static IEnumerable<(string Field, string? Value)> HardwareValues(MachineRecord machine)
    {
        var nic = machine.Interface;
        var dhcp = $"spec.interfaces[{nic.Index}].dhcp";
        foreach (var token in SplitFacility(machine.Facility))
        {
            yield return ("spec.metadata.facility.facility_code", token);
        }

        yield return ($"{dhcp}.vlan_id", nic.VlanId);
        yield return ($"{dhcp}.ip.address", nic.IpAddress);
        yield return ($"{dhcp}.ip.netmask", nic.Netmask);
        yield return ($"{dhcp}.ip.gateway", nic.Gateway);
        yield return ($"{dhcp}.hostname", nic.Hostname);
        for (var i = 0; i < nic.NameServers.Length; i++)
        {
            yield return ($"{dhcp}.name_servers[{i}]", nic.NameServers[i]);
        }

        // The parser takes search domains from domain_search or else domain_name; the error names both places.
        for (var i = 0; i < nic.SearchDomains.Length; i++)
        {
            yield return ($"{dhcp}.domain_search/domain_name[{i}]", nic.SearchDomains[i]);
        }

        for (var i = 0; i < nic.TimeServers.Length; i++)
        {
            yield return ($"{dhcp}.time_servers[{i}]", nic.TimeServers[i]);
        }
    }

    private static void Append(StringBuilder line, string? token, string? value = null)
    {
        if (line.Length > 0)
        {
            line.Append(' ');
        }

        line.Append(token).Append(value);
    }
}
