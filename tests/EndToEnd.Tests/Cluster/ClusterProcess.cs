using System.Globalization;
using System.Reflection;
using System.Text;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>What a process of a <see cref="ProcessCluster"/> is.</summary>
public enum ClusterRole
{
    /// <summary><c>IsoCluster.Silo.dll</c>: hosts grains, joins membership through Redis.</summary>
    Silo,

    /// <summary><c>IsoCluster.Gateway.dll --mode client</c>: serves BMCs, an Orleans client of the silos.</summary>
    Gateway,
}

/// <summary>
/// One silo or gateway of a <see cref="ProcessCluster"/>: a real <c>dotnet</c> child process on fixed loopback ports
/// that a test can kill, terminate and start again on the same ports. The output of every run is kept for
/// assertion messages.
/// </summary>
public sealed class ClusterProcess : IAsyncDisposable
{
    private const int MessageOutputChars = 12 * 1024;

    // Timestamped log lines (UTC, as the tests print their own events) put the processes' output and the test's
    // timeline side by side when a failure has to be explained.
    private static readonly Dictionary<string, string> LogTimestamps = new(StringComparer.Ordinal)
    {
        ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
        ["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true",
    };

    private static readonly Lazy<string> RepositoryRoot = new(() =>
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IsoCluster.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException($"IsoCluster.sln not found above {AppContext.BaseDirectory}");
    });

    private readonly IReadOnlyList<string> _arguments;
    private readonly string _workingDirectory;
    private readonly Dictionary<string, string> _environment;
    private readonly StringBuilder _earlierRuns = new();
    private readonly List<ServiceProcess> _exited = [];
    private ServiceProcess? _process;
    private int _runs;

    internal ClusterProcess(
        ClusterRole role,
        string name,
        int httpPort,
        int adminPort,
        int siloPort,
        int gatewayPort,
        IReadOnlyList<string> arguments,
        string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        Role = role;
        Name = name;
        HttpPort = httpPort;
        AdminPort = adminPort;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        _arguments = arguments;
        _workingDirectory = workingDirectory;
        _environment = new Dictionary<string, string>(LogTimestamps, StringComparer.Ordinal);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            _environment[key] = value;
        }
    }

    /// <summary>Silo or gateway.</summary>
    public ClusterRole Role { get; }

    /// <summary>What messages call it, e.g. <c>silo-2</c>.</summary>
    public string Name { get; }

    /// <summary>The port of its <c>--urls</c> listener (ISO requests on a gateway, health on both).</summary>
    public int HttpPort { get; }

    /// <summary>The port of its admin listener (<c>/metrics</c>): a gateway's <c>--admin-urls</c>, a silo's <c>--urls</c>.</summary>
    public int AdminPort { get; }

    /// <summary>Its silo-to-silo port (silos only; 0 for a gateway).</summary>
    public int SiloPort { get; }

    /// <summary>The port Orleans clients connect to (silos only; 0 for a gateway).</summary>
    public int GatewayPort { get; }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{HttpPort}/"));

    /// <summary>Where its admin listener listens, e.g. <c>http://127.0.0.1:40124/</c>.</summary>
    public Uri AdminAddress => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{AdminPort}/"));

    /// <summary>Its readiness probe.</summary>
    public Uri ReadyUrl => new(BaseAddress, "health/ready");

    /// <summary>The running (or last) process.</summary>
    public ServiceProcess Process => _process ?? throw new InvalidOperationException($"{Name} was never started.");

    /// <summary>The newest output of every run so far, for assertion messages.</summary>
    public string Output
    {
        get
        {
            var current = _process is null ? "" : $"===== {Name} run {_runs} (pid {_process.Id}{(_process.HasExited ? $", exit {_process.ExitCode}" : "")}) ====={Environment.NewLine}{_process.Output}";
            var all = _earlierRuns + current;
            return all.Length <= MessageOutputChars ? all : "[...]" + all[^MessageOutputChars..];
        }
    }

    /// <summary>The command line, for messages.</summary>
    public string CommandLine => $"dotnet {string.Join(' ', _arguments)}";

    /// <summary>Starts the process (again, on the same ports, after it has exited).</summary>
    public void Start()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException($"{Name} (pid {_process.Id}) is still running.");
        }

        if (_process is not null)
        {
            _earlierRuns.AppendLine(CultureInfo.InvariantCulture, $"===== {Name} run {_runs} (pid {_process.Id}, exit {_process.ExitCode}) =====");
            _earlierRuns.Append(_process.Output);
            _exited.Add(_process);
        }

        _runs++;
        _process = ServiceProcess.Start($"{Name} run {_runs}", DotnetHost, _arguments, _workingDirectory, _environment);
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200; fails with the process's output otherwise.</summary>
    public Task WaitReadyAsync(TimeSpan timeout) => Process.WaitForHttpAsync(ReadyUrl, timeout);

    /// <summary>SIGKILL: a crash. Waits (bounded) until the kernel has reaped it.</summary>
    public async Task KillAsync()
    {
        Process.Kill();
        if (!await Process.WaitForExitAsync(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"{Name} (pid {Process.Id}) survived SIGKILL for 10 s.");
        }
    }

    /// <summary>SIGTERM: a graceful stop, as Kubernetes asks before it kills a pod.</summary>
    public void Terminate() => Process.Terminate();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        foreach (var exited in _exited)
        {
            await exited.DisposeAsync();
        }
    }

    /// <summary>The built product assembly for <paramref name="role"/>, next to the tests' own configuration.</summary>
    internal static string AssemblyPath(ClusterRole role)
    {
        var (project, assembly) = role == ClusterRole.Silo ? ("Silo", "IsoCluster.Silo.dll") : ("Gateway", "IsoCluster.Gateway.dll");
        var path = Path.Combine(RepositoryRoot.Value, "src", project, "bin", BuildConfiguration, TargetFramework, assembly);
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"{path} does not exist: build the solution first (dotnet build IsoCluster.sln -c {BuildConfiguration}).");
    }

    // dotnet test builds the product projects in the same configuration as the tests (Release in CI).
    private static string BuildConfiguration =>
        typeof(ClusterProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } configuration
            ? configuration
            : "Release";

    private static string TargetFramework => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;

    // dotnet test tells its children which host runs them; plain "dotnet" from PATH otherwise.
    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
