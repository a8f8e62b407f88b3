using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IsoCluster.TestSupport;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, holding nothing on disk: the membership table of a
/// multi-process cluster under test. Disposal kills it by PID.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string Executable = "redis-server";
    private const int StartAttempts = 3;

    private readonly ServiceProcess _process;

    private RedisServer(ServiceProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The port it listens on (on 127.0.0.1 only).</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>, as <c>--orleans-redis</c> and StackExchange.Redis take it.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>What the server printed, for assertion messages.</summary>
    public string Output => _process.Output;

    /// <summary>
    /// Starts the server and waits until it answers <c>PING</c>. Another process may take the free port between
    /// the look-up and the bind, so a server that exits at start is retried on a new port.
    /// </summary>
    public static async Task<RedisServer> StartAsync(TimeSpan timeout)
    {
        var executable = FindExecutable()
            ?? throw new InvalidOperationException(
                $"{Executable} is not installed (not found on PATH): bash scripts/test.sh installs it (apt-get install -y redis-server).");
        var deadline = Stopwatch.StartNew();
        var failures = new StringBuilder();
        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            var port = FreePorts.Next();
            var process = ServiceProcess.Start(
                $"redis-server :{port}",
                executable,
                ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"]);
            var server = new RedisServer(process, port);
            try
            {
                await server.WaitForPongAsync(timeout - deadline.Elapsed);
                return server;
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                failures.AppendLine(CultureInfo.InvariantCulture, $"attempt {attempt} on port {port}: {e.Message}");
                await server.DisposeAsync();
                if (deadline.Elapsed >= timeout)
                {
                    break;
                }
            }
        }

        throw new InvalidOperationException($"{Executable} did not start:{Environment.NewLine}{failures}");
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _process.DisposeAsync();

    // The inline form of RESP: one line in, "+PONG" back. No client library needed.
    private async Task WaitForPongAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var last = "no answer yet";
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{_process.Name} (pid {_process.Id}) exited with {_process.ExitCode}:{Environment.NewLine}{Output}");
            }

            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), attempt.Token);
                await socket.SendAsync("PING\r\n"u8.ToArray(), SocketFlags.None, attempt.Token);
                var buffer = new byte[64];
                var received = 0;
                while (received < 7)
                {
                    var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, attempt.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    received += read;
                }

                var answer = Encoding.ASCII.GetString(buffer, 0, received);
                if (answer.StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }

                last = $"answered '{answer.TrimEnd()}'";
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{_process.Name} did not answer PING within {timeout.TotalSeconds:0.#} s (last: {last}):{Environment.NewLine}{Output}");
    }

    private static string? FindExecutable()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Append("/usr/sbin")
            .Select(directory => Path.Combine(directory, Executable))
            .FirstOrDefault(File.Exists);
    }
}
