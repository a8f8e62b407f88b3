using System.Diagnostics.CodeAnalysis;
using System.Text;
using IsoCluster.Grains.Hardware;

namespace IsoCluster.Grains.Machines;

/// <summary>A kernel command line and where each of its tokens came from, or why it could not be built.</summary>
public sealed class KernelParamsResult
{
    private KernelParamsResult(IReadOnlyList<KernelParamPart> parts, string? error)
    {
        Parts = parts;
        Error = error;
        CommandLine = error is null ? string.Join(' ', parts.Select(part => part.Text)) : null;
    }

    /// <summary>Whether <see cref="CommandLine"/> holds a command line.</summary>
    [MemberNotNullWhen(true, nameof(CommandLine))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => CommandLine is not null;

    /// <summary>The command line (printable ASCII, tokens separated by single spaces), or null on failure.</summary>
    public string? CommandLine { get; }

    /// <summary>
    /// Every token in order with where it came from; the command line is these joined by single spaces. On failure,
    /// the tokens as they would have been, refused values included, so an operator can see what to fix.
    /// </summary>
    public IReadOnlyList<KernelParamPart> Parts { get; }

    /// <summary>Every problem, naming the MAC and the field or setting, or null on success.</summary>
    public string? Error { get; }

    /// <summary>A result whose command line is <paramref name="parts"/> joined by spaces.</summary>
    /// <param name="parts">The tokens, in order.</param>
    public static KernelParamsResult Success(IReadOnlyList<KernelParamPart> parts) => new(parts, null);

    /// <summary>A result holding <paramref name="error"/>.</summary>
    /// <param name="error">Why no command line could be built.</param>
    /// <param name="parts">The tokens as they would have been.</param>
    public static KernelParamsResult Failure(string error, IReadOnlyList<KernelParamPart>? parts = null) => new(parts ?? [], error);

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

    /// <inheritdoc cref="SyslogHostFlag"/>
    public const string TinkServerUseTlsFlag = "--tink-server-use-tls";

    /// <inheritdoc cref="SyslogHostFlag"/>
    public const string StaticIpamFlag = "--iso-static-ipam-enabled";

    /// <summary>The Hardware field whose tokens come right after the extra arguments.</summary>
    public const string FacilityField = "spec.metadata.facility.facility_code";

    /// <summary>
    /// Builds the command line for <paramref name="machine"/>, recording where each token came from: the boot path
    /// and <c>GET /api/explain/{mac}</c> both read this one result, so what is explained is what is written.
    /// </summary>
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

        // Tinkerbell's order (smee's ISO handler): extra args, consoles or facility, then the machine's identity.
        var line = new List<KernelParamPart>(24);
        foreach (var token in SplitTokens(options.ExtraKernelArgs))
        {
            line.Add(new(token, KernelParamOrigin.Flag, ExtraKernelArgsFlag));
        }

        // A facility code is a list of kernel parameters; one that names consoles replaces the defaults instead of
        // adding to them, which is how Tinkerbell operators give a machine its own console.
        var facility = SplitFacility(machine.Facility);
        var facilityNamesConsole = false;
        for (var i = 0; i < facility.Length; i++)
        {
            line.Add(new((i == 0 ? "facility=" : "") + facility[i], KernelParamOrigin.Hardware, FacilityField));
            facilityNamesConsole |= facility[i].Contains("console=", StringComparison.Ordinal);
        }

        if (!facilityNamesConsole)
        {
            foreach (var console in SplitTokens(DefaultConsoles))
            {
                line.Add(new(console, KernelParamOrigin.Default, FacilityField));
            }
        }

        var dhcp = $"spec.interfaces[{nic.Index}].dhcp";
        if (!string.IsNullOrEmpty(nic.VlanId))
        {
            line.Add(new("vlan_id=" + nic.VlanId, KernelParamOrigin.Hardware, $"{dhcp}.vlan_id"));
        }

        line.Add(new("hw_addr=" + mac, KernelParamOrigin.Hardware, $"{dhcp}.mac"));
        line.Add(FromSetting("syslog_host=", options.SyslogHost, SyslogHostFlag));
        line.Add(FromSetting("grpc_authority=", options.TinkServerAddrPort, TinkServerAddrPortFlag));
        line.Add(new(
            "tinkerbell_tls=" + (options.TinkServerUseTls ? "true" : "false"),
            options.TinkServerUseTls ? KernelParamOrigin.Flag : KernelParamOrigin.Default,
            TinkServerUseTlsFlag));
        line.Add(new("worker_id=" + mac, KernelParamOrigin.Hardware, $"{dhcp}.mac"));
        if (options.StaticIpamEnabled)
        {
            // HookOS's static-ipam script splits on ':' and ','; empty fields keep their place.
            var ipam = "ipam=" + string.Join(':',
                nic.Mac.ToDashedString(),
                nic.VlanId,
                nic.IpAddress,
                nic.Netmask,
                nic.Gateway,
                nic.Hostname,
                string.Join(',', nic.NameServers),
                string.Join(',', nic.SearchDomains),
                string.Join(',', nic.TimeServers));
            line.Add(new(ipam, KernelParamOrigin.Hardware, $"{dhcp} (mac, vlan_id, ip, hostname, name_servers, domain_search, time_servers) with {StaticIpamFlag}"));
        }

        return problems.Count > 0
            ? KernelParamsResult.Failure(string.Join("; ", problems), line)
            : KernelParamsResult.Success(line);
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

    // A setting left at its default (empty) still puts its key on the line, as Tinkerbell does.
    private static KernelParamPart FromSetting(string key, string value, string flag) =>
        new(key + value, string.IsNullOrEmpty(value) ? KernelParamOrigin.Default : KernelParamOrigin.Flag, flag);

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
            yield return (FacilityField, token);
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
}
