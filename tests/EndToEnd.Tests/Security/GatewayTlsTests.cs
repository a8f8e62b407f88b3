using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IsoCluster.EndToEnd.Tests.Harness;
using IsoCluster.Gateway.Hosting;
using IsoCluster.Grains.Hosting;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging;

namespace IsoCluster.EndToEnd.Tests.Security;

/// <summary>
/// The gateway's HTTPS: TLS 1.2 and 1.3 only, and a certificate replaced on disk reaches new connections without a
/// restart, while a half-written replacement keeps the old certificate in service.
/// </summary>
public sealed class GatewayTlsTests : IAsyncLifetime
{
    // The reloader compares the files every CertificateReloader.CheckInterval (2 s); a slow CI box gets ample slack.
    private static readonly TimeSpan ReloadWait = TimeSpan.FromSeconds(30);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-tls-");

    // The certificates are self-signed, so clients trust exactly the ones this test wrote (pinned by thumbprint).
    private readonly HashSet<string> _issued = new(StringComparer.OrdinalIgnoreCase);
    private string _certificateFile = "";
    private string _keyFile = "";
    private GatewayInstance _gateway = null!;

    public async Task InitializeAsync()
    {
        (_certificateFile, _keyFile) = TestCertificate.WritePem(_directory.FullName);
        _issued.Add(Thumbprint(_certificateFile));
        var hardwareFile = Path.Combine(_directory.FullName, "hardware.yaml");
        await File.WriteAllTextAsync(hardwareFile, TestMachines.HardwareYaml("http://127.0.0.1:9/hook.iso"));
        _gateway = await GatewayInstance.StartAsync(
            ["--hardware-file", hardwareFile, "--tls-cert-file", _certificateFile, "--tls-key-file", _keyFile, .. TestMachines.BootFlags],
            scheme: "https");
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Https_CertificateFilesReplaced_NewConnectionsGetNewCertificateWithoutRestart()
    {
        var first = await HandshakeAsync();
        Assert.Equal(Thumbprint(_certificateFile), first.Thumbprint);
        var next = WriteNextCertificate();

        // Key first, then certificate, each rewritten in place: for a moment the pair does not match, as in a real copy.
        File.Copy(next.KeyFile, _keyFile, overwrite: true);
        File.Copy(next.CertificateFile, _certificateFile, overwrite: true);
        var seen = await WaitForThumbprintAsync(Thumbprint(next.CertificateFile));

        Assert.Equal(Thumbprint(next.CertificateFile), seen);
        Assert.NotEqual(first.Thumbprint, seen);
        using var client = HttpsClient();
        using var live = await client.GetAsync(new Uri(_gateway.BaseAddress, "health/live"));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Contains(_gateway.Log.Lines, line => line.Level == LogLevel.Information && line.EventId.Id == 3100 && line.Message.Contains(seen, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Https_HalfWrittenCertificate_KeepsOldCertificateLogsWarningNamingFileThenLoadsCompleteOne()
    {
        var original = Thumbprint(_certificateFile);
        var next = WriteNextCertificate();
        var text = await File.ReadAllTextAsync(next.CertificateFile);

        await File.WriteAllTextAsync(_certificateFile, text[..(text.Length / 2)]);
        var warning = await WaitForLogAsync(line => line.Level == LogLevel.Warning && line.EventId.Id == 3101 && line.Message.Contains(_certificateFile, StringComparison.Ordinal));
        var during = await HandshakeAsync();
        File.Copy(next.KeyFile, _keyFile, overwrite: true);
        File.Copy(next.CertificateFile, _certificateFile, overwrite: true);
        var after = await WaitForThumbprintAsync(Thumbprint(next.CertificateFile));

        Assert.Contains(original, warning.Message, StringComparison.Ordinal);
        Assert.Equal(original, during.Thumbprint);
        Assert.Equal(Thumbprint(next.CertificateFile), after);
    }

    [Fact]
    public async Task Https_DefaultClient_NegotiatesTls12OrNewer()
    {
        var negotiated = await HandshakeAsync();
        var tls12 = await HandshakeAsync(SslProtocols.Tls12);
        var tls13 = await HandshakeAsync(SslProtocols.Tls13);

        Assert.True(negotiated.Protocol is SslProtocols.Tls12 or SslProtocols.Tls13, $"negotiated {negotiated.Protocol}");
        Assert.Equal(SslProtocols.Tls12, tls12.Protocol);
        Assert.Equal(SslProtocols.Tls13, tls13.Protocol);
    }

    [Fact]
    public async Task Https_Tls10And11ClientHellos_AreRefusedEvenWhereOpenSslWouldAllowThem()
    {
        // OpenSSL 3 at its default security level refuses TLS 1.0 and 1.1 by itself, which would hide a gateway that
        // asked for them. So this gateway runs as its own process under an OpenSSL configuration that allows them
        // (with it, a gateway built with SslProtocols including Tls11 answers the same hello with a TLS 1.1
        // ServerHello), and the hellos are written by hand, since this process's OpenSSL will not offer TLS 1.1.
        var openSslConf = Path.Combine(_directory.FullName, "openssl-allows-tls1.cnf");
        await File.WriteAllTextAsync(openSslConf, """
            openssl_conf = openssl_init
            [openssl_init]
            ssl_conf = ssl_sect
            [ssl_sect]
            system_default = system_default_sect
            [system_default_sect]
            MinProtocol = TLSv1
            CipherString = DEFAULT@SECLEVEL=0
            """);
        var port = FreePorts.Next();
        await using var gateway = ServiceProcess.Start(
            "gateway",
            "dotnet",
            [
                Path.Combine(AppContext.BaseDirectory, "IsoCluster.Gateway.dll"),
                "--urls", $"https://127.0.0.1:{port}",
                "--tls-cert-file", _certificateFile,
                "--tls-key-file", _keyFile,
                "--orleans-silo-port", FreePorts.Next().ToString(CultureInfo.InvariantCulture),
                "--orleans-gateway-port", FreePorts.Next().ToString(CultureInfo.InvariantCulture),
            ],
            _directory.FullName,
            new Dictionary<string, string> { ["OPENSSL_CONF"] = openSslConf });
        using var client = HttpsClient();
        await gateway.WaitForHttpAsync(new Uri($"https://127.0.0.1:{port}/health/live"), TimeSpan.FromMinutes(1), client: client);

        foreach (var (version, name) in new[] { ((ushort)0x0301, "1.0"), ((ushort)0x0302, "1.1") })
        {
            var answer = await SendClientHelloAsync(port, version);

            // A ServerHello is record type 22; an alert (21) or a closed connection (none) is a refusal.
            Assert.True(answer is null or 21, $"The gateway answered a TLS {name} ClientHello with record type {answer} (22: accepted):\n{gateway.Output}");
        }

        Assert.False(gateway.HasExited);
    }

    [Fact]
    public async Task Start_CertificateFileThatIsNotACertificate_FailsNamingTheFlagAndFile()
    {
        var broken = Path.Combine(_directory.FullName, "broken.crt");
        await File.WriteAllTextAsync(broken, "-----BEGIN CERTIFICATE-----\nnot base64\n");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => GatewayInstance.StartAsync(["--tls-cert-file", broken, "--tls-key-file", _keyFile], scheme: "https"));

        var described = StartupErrors.Describe(error, GatewaySettings.All) ?? error.Message;
        Assert.Contains("--tls-cert-file", described, StringComparison.Ordinal);
        Assert.Contains(broken, described, StringComparison.Ordinal);
    }

    private static string Thumbprint(string certificateFile)
    {
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile));
        return certificate.Thumbprint;
    }

    private static async Task<byte?> SendClientHelloAsync(int port, ushort version)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(ClientHello(version));
        var answer = new byte[1];
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await stream.ReadAsync(answer, timeout.Token) == 0 ? null : answer[0];
        }
        catch (IOException)
        {
            return null;
        }
    }

    // A minimal ClientHello (RFC 2246/4346 §7.4.1.2) offering only the given version and CBC suites those versions know.
    private static byte[] ClientHello(ushort version)
    {
        byte[] suites = [0xc0, 0x13, 0xc0, 0x14, 0x00, 0x2f, 0x00, 0x35];
        byte[] extensions = [0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00];
        var body = new List<byte> { (byte)(version >> 8), (byte)version };
        body.AddRange(RandomNumberGenerator.GetBytes(32));
        body.Add(0);
        body.AddRange([(byte)(suites.Length >> 8), (byte)suites.Length, .. suites]);
        body.AddRange([1, 0]);
        body.AddRange([(byte)(extensions.Length >> 8), (byte)extensions.Length, .. extensions]);
        var handshake = new List<byte> { 1, 0, (byte)(body.Count >> 8), (byte)body.Count };
        handshake.AddRange(body);
        var record = new List<byte> { 22, 0x03, 0x01, (byte)(handshake.Count >> 8), (byte)handshake.Count };
        record.AddRange(handshake);
        return [.. record];
    }

    private (string CertificateFile, string KeyFile) WriteNextCertificate()
    {
        var directory = Directory.CreateDirectory(Path.Combine(_directory.FullName, Guid.NewGuid().ToString("N")));
        var files = TestCertificate.WritePem(directory.FullName);
        _issued.Add(Thumbprint(files.CertificateFile));
        return files;
    }

    private async Task<(string Thumbprint, SslProtocols Protocol)> HandshakeAsync(SslProtocols protocols = SslProtocols.None)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _gateway.BaseAddress.Port);
        await using var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = IsIssued,
        });
        return (ssl.RemoteCertificate!.GetCertHashString(), ssl.SslProtocol);
    }

    private async Task<string> WaitForThumbprintAsync(string expected)
    {
        var deadline = DateTime.UtcNow + ReloadWait;
        string seen;
        do
        {
            seen = (await HandshakeAsync()).Thumbprint;
            if (seen == expected)
            {
                return seen;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail($"New connections still got {seen}, not {expected}, after {ReloadWait.TotalSeconds} s:{Environment.NewLine}{_gateway.Log.Describe()}");
        return seen;
    }

    private async Task<LogLine> WaitForLogAsync(Func<LogLine, bool> match)
    {
        var deadline = DateTime.UtcNow + ReloadWait;
        while (DateTime.UtcNow < deadline)
        {
            if (_gateway.Log.Lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"No such log line within {ReloadWait.TotalSeconds} s:{Environment.NewLine}{_gateway.Log.Describe(LogLevel.Information)}");
        return null!;
    }

    private HttpClient HttpsClient()
    {
        var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = IsIssued } };
        return new HttpClient(handler);
    }

    private bool IsIssued(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        certificate is not null && _issued.Contains(certificate.GetCertHashString());
}
