using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;
using BenchmarkDotNet.Attributes;
using IsoCluster.Gateway.Admin;
using IsoCluster.Gateway.Hosting;
using IsoCluster.Grains.SourceIso;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Benchmarks.Serving;

/// <summary>
/// One BMC range read over HTTP, whole: request bytes on a keep-alive loopback connection, Kestrel, routing, the
/// gateway's plan and chunk caches, patching, the response back to the client. The memory diagnoser counts every
/// byte allocated in the process during the read (client and server threads alike), so "Allocated" is the serving
/// path's own garbage per request. The peer is Kestrel configured as the gateway configures it, answering the same
/// request from a fixed buffer with the same headers in a middleware: what any ASP.NET Core server pays for a 64 KiB
/// range response, so the Alloc Ratio is what the gateway adds to it.
/// </summary>
/// <remarks>
/// The client is a plain socket with requests formatted once and one reused receive buffer, so it adds nothing of
/// its own. Reads walk the ISO sequentially in 64 KiB steps, as a BMC does, so every request has a new Range header.
/// What Kestrel itself allocates per response, measured with an allocation-tick listener: the Range header's string
/// and, for a body that spans several of its 4 KiB blocks, the I/O vector and GC handle arrays the runtime's socket
/// send makes per call on Linux.
/// </remarks>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet needs an unsealed class; [GlobalCleanup] closes the clients.
public class RequestPathBenchmarks
#pragma warning restore CA1001
{
    private const int ReadSize = 64 * 1024;
    private const int IsoSize = 16 * 1024 * 1024;
    private const string Mac = "b4:96:91:6e:2c:10";

    private readonly byte[] _receive = new byte[ReadSize + 4096];
    private string _directory = "";
    private WebApplication _gateway = null!;
    private WebApplication _bareKestrel = null!;
    private BenchClient _gatewayClient = null!;
    private BenchClient _bareClient = null!;

    /// <summary>Writes the ISO and Hardware, starts the embedded gateway and the bare peer, and warms both caches.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("isocluster-requestpath-").FullName;
        var iso = new byte[IsoSize];
        new Random(7).NextBytes(iso);
        Encoding.ASCII.GetBytes(IsoOptions.HookOsMagicString).CopyTo(iso, (3 * 1024 * 1024) - 100);
        var isoPath = Path.Combine(_directory, "hook.iso");
        File.WriteAllBytes(isoPath, iso);
        var hardwarePath = Path.Combine(_directory, "hardware.yaml");
        File.WriteAllText(hardwarePath, $"""
            apiVersion: tinkerbell.org/v1alpha1
            kind: Hardware
            metadata:
              name: bench01
            spec:
              interfaces:
                - dhcp:
                    mac: "{Mac}"
                    hostname: bench01
            """);

        Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");
        _gateway = GatewayApplication.Create(
            ["--urls", "http://127.0.0.1:0", "--admin-urls", "http://127.0.0.1:0", "--iso-upstream-url", isoPath, "--hardware-file", hardwarePath]);
        _gateway.StartAsync().GetAwaiter().GetResult();

        var body = new byte[ReadSize];
        _bareKestrel = BareKestrel(body);
        _bareKestrel.StartAsync().GetAwaiter().GetResult();

        _gatewayClient = new BenchClient(new Uri(_gateway.Services.GetRequiredService<GatewayListeners>().BmcAddresses[0]).Port, $"/iso/{Mac}/hook.iso", IsoSize, ReadSize);
        _bareClient = new BenchClient(Port(_bareKestrel), $"/iso/{Mac}/hook.iso", IsoSize, ReadSize);

        // Every chunk cached, in the silo and in the gateway, before anything is measured.
        for (var i = 0; i < IsoSize / ReadSize; i++)
        {
            _gatewayClient.Read(_receive);
        }
    }

    /// <summary>Stops both servers and removes the files.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _gatewayClient.Dispose();
        _bareClient.Dispose();
        _gateway.StopAsync().GetAwaiter().GetResult();
        _bareKestrel.StopAsync().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>The peer: Kestrel writing 64 KiB from memory with the same status and headers.</summary>
    [Benchmark(Baseline = true)]
    public int BareKestrel() => _bareClient.Read(_receive);

    /// <summary>The gateway, embedded silo, everything cached: one sequential 64 KiB read of a MAC's ISO.</summary>
    [Benchmark]
    public int Gateway() => _gatewayClient.Read(_receive);

    private static WebApplication BareKestrel(byte[] body)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        ServingTransport.AddTo(builder);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(async context =>
        {
            var response = context.Response;
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.ContentType = "application/x-iso9660-image";
            response.ContentLength = body.Length;
            response.Headers.AcceptRanges = "bytes";
            response.Headers.ETag = "\"v1-tag\"";
            response.Headers.ContentRange = "bytes 0-65535/16777216";
            await response.BodyWriter.WriteAsync(body, context.RequestAborted);
        });
        return app;
    }

    private static int Port(WebApplication app) =>
        new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()).Port;

    /// <summary>A keep-alive HTTP/1.1 client that walks the ISO in fixed steps; allocation-free after construction.</summary>
    private sealed class BenchClient : IDisposable
    {
        private readonly Socket _socket;
        private readonly byte[][] _requests;
        private int _next;

        public BenchClient(int port, string path, int isoSize, int readSize)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            _requests = new byte[isoSize / readSize][];
            for (var i = 0; i < _requests.Length; i++)
            {
                var start = (long)i * readSize;
                _requests[i] = Encoding.ASCII.GetBytes(
                    $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes={start}-{start + readSize - 1}\r\n\r\n");
            }
        }

        /// <summary>Sends the next request and reads its whole response; returns the body length.</summary>
        public int Read(byte[] buffer)
        {
            _socket.Send(_requests[_next]);
            _next = (_next + 1) % _requests.Length;

            var received = 0;
            var headerEnd = -1;
            var contentLength = -1;
            while (true)
            {
                var n = _socket.Receive(buffer, received, buffer.Length - received, SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("The server closed the connection.");
                }

                received += n;
                if (headerEnd < 0)
                {
                    headerEnd = buffer.AsSpan(0, received).IndexOf("\r\n\r\n"u8);
                    if (headerEnd < 0)
                    {
                        continue;
                    }

                    headerEnd += 4;
                    var headers = buffer.AsSpan(0, headerEnd);
                    if (!headers.StartsWith("HTTP/1.1 206"u8))
                    {
                        throw new InvalidOperationException("Not a 206: " + Encoding.ASCII.GetString(headers));
                    }

                    var at = headers.IndexOf("Content-Length: "u8) + "Content-Length: ".Length;
                    if (!Utf8Parser.TryParse(headers[at..], out contentLength, out _))
                    {
                        throw new InvalidOperationException("No Content-Length.");
                    }
                }

                if (received - headerEnd >= contentLength)
                {
                    if (received - headerEnd != contentLength)
                    {
                        throw new InvalidOperationException("More bytes than Content-Length.");
                    }

                    return contentLength;
                }

                if (received == buffer.Length)
                {
                    throw new InvalidOperationException("The response does not fit the receive buffer.");
                }
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
