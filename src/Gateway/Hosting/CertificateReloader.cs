using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace IsoCluster.Gateway.Hosting;

/// <summary>The files the gateway's TLS certificate is read from (<c>--tls-cert-file</c>, <c>--tls-key-file</c>).</summary>
/// <param name="Certificate">PEM certificate (then any intermediates), or a PKCS#12 (PFX) file.</param>
/// <param name="Key">PEM private key; null when the key is in <paramref name="Certificate"/>.</param>
/// <param name="Password">Password of an encrypted PEM key or of a PFX file (<c>Kestrel:Certificates:Default:Password</c>).</param>
internal sealed record CertificateFiles(string Certificate, string? Key, string? Password);

/// <summary>A certificate ready for TLS handshakes: the leaf with its key and the chain sent with it.</summary>
internal sealed record LoadedCertificate(X509Certificate2 Leaf, SslStreamCertificateContext Context);

/// <summary>
/// Holds the gateway's TLS certificate and replaces it, without a restart, when its files change on disk, so that a
/// renewed certificate (cert-manager, a rotated Kubernetes secret, an operator's copy) reaches every new connection
/// within <see cref="CheckInterval"/>. Connections already open keep the certificate they were made with.
/// </summary>
/// <remarks>
/// The files' bytes are compared rather than their timestamps: a Kubernetes secret volume swaps a symbolic link to a new
/// directory, which leaves the stat of the path a pod reads unchanged, and a file rewritten within one timestamp tick
/// keeps its time. A certificate file is a few KiB, so reading both every few seconds costs nothing. A pair that does not
/// load (a file half-written, a new certificate beside the old key) keeps the old certificate in service, is reported
/// once as a Warning naming the file, and is tried again as soon as either file changes again.
/// </remarks>
internal sealed partial class CertificateReloader : IHostedService, IDisposable
{
    /// <summary>How often the files are compared with what was last loaded.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";

    private readonly CertificateFiles _files;
    private readonly TimeProvider _time;
    private readonly ILogger<CertificateReloader> _logger;
    private readonly Lock _lock = new();
    private LoadedCertificate _current;
    private (byte[] Certificate, byte[] Key) _seen;
    private string? _lastProblem;
    private ITimer? _timer;

    public CertificateReloader(CertificateFiles files, LoadedCertificate initial, (byte[] Certificate, byte[] Key) initialBytes, TimeProvider time, ILogger<CertificateReloader> logger)
    {
        _files = files;
        _current = initial;
        _seen = initialBytes;
        _time = time;
        _logger = logger;
    }

    /// <summary>The certificate new connections get.</summary>
    public LoadedCertificate Current => Volatile.Read(ref _current);

    /// <summary>Reads and loads the certificate files, or says which file is wrong and why.</summary>
    public static bool TryLoad(
        CertificateFiles files, out LoadedCertificate? loaded, out (byte[] Certificate, byte[] Key) bytes, out string problem)
    {
        ArgumentNullException.ThrowIfNull(files);
        loaded = null;
        return TryRead(files, out bytes, out problem) && TryLoad(files, bytes.Certificate, bytes.Key, out loaded, out problem);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = _time.CreateTimer(static state => ((CertificateReloader)state!).Check(), this, CheckInterval, CheckInterval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>Loads the files if their bytes changed since they were last examined.</summary>
    internal void Check()
    {
        lock (_lock)
        {
            var read = TryRead(_files, out var bytes, out var problem);
            if (read)
            {
                // A pair that did not load is not tried again, nor reported again, until a file changes.
                if (Same(bytes, _seen))
                {
                    return;
                }

                _seen = bytes;
                if (TryLoad(_files, bytes.Certificate, bytes.Key, out var loaded, out problem))
                {
                    var previous = Current.Leaf;
                    Volatile.Write(ref _current, loaded!);
                    _lastProblem = null;

                    // The old certificate is not disposed: a handshake that picked it a moment ago may still be using its key.
                    var notAfter = loaded!.Leaf.NotAfter.ToUniversalTime();
                    LogReloaded(_logger, _files.Certificate, previous.Thumbprint, loaded.Leaf.Thumbprint, notAfter);
                    return;
                }
            }

            // An unreadable file (gone for a moment while it is replaced) is read again every interval, and reported once.
            if (problem != _lastProblem)
            {
                _lastProblem = problem;
                LogReloadFailed(_logger, problem, Current.Leaf.Thumbprint);
            }
        }
    }

    private static bool TryRead(CertificateFiles files, out (byte[] Certificate, byte[] Key) bytes, out string problem)
    {
        try
        {
            bytes = (File.ReadAllBytes(files.Certificate), files.Key is null ? [] : File.ReadAllBytes(files.Key));
            problem = "";
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The messages name the path: "Could not find file '/etc/tls/tls.crt'."
            bytes = ([], []);
            problem = ex.Message;
            return false;
        }
    }

    private static bool Same((byte[] Certificate, byte[] Key) a, (byte[] Certificate, byte[] Key) b) =>
        a.Certificate.AsSpan().SequenceEqual(b.Certificate) && a.Key.AsSpan().SequenceEqual(b.Key);

    private static bool TryLoad(CertificateFiles files, byte[] certificateBytes, byte[] keyBytes, out LoadedCertificate? loaded, out string problem)
    {
        loaded = null;
        X509Certificate2 leaf;
        var chain = new X509Certificate2Collection();
        var certificateText = System.Text.Encoding.ASCII.GetString(certificateBytes);
        var isPem = certificateText.Contains("-----BEGIN", StringComparison.Ordinal);
        try
        {
            if (isPem)
            {
                chain.ImportFromPem(certificateText);
                if (chain.Count == 0)
                {
                    problem = $"'{files.Certificate}' holds no PEM certificate";
                    return false;
                }
            }
            else
            {
                chain = X509CertificateLoader.LoadPkcs12Collection(certificateBytes, files.Password);
            }
        }
        catch (CryptographicException ex)
        {
            problem = $"'{files.Certificate}' is not a {(isPem ? "PEM" : "PEM or PKCS#12 (PFX)")} certificate: {ex.Message}";
            return false;
        }

        try
        {
            if (isPem)
            {
                // The key is in its own file, or after the certificates in the same one.
                var keyText = files.Key is null ? certificateText : System.Text.Encoding.ASCII.GetString(keyBytes);
                leaf = string.IsNullOrEmpty(files.Password)
                    ? X509Certificate2.CreateFromPem(certificateText, keyText)
                    : X509Certificate2.CreateFromEncryptedPem(certificateText, keyText, files.Password);
                chain.RemoveAt(0);
            }
            else
            {
                leaf = chain.FirstOrDefault(c => c.HasPrivateKey) ?? throw new CryptographicException("no certificate in it has a private key");
                chain.Remove(leaf);
            }
        }
        catch (CryptographicException ex)
        {
            problem = files.Key is null
                ? $"'{files.Certificate}' holds no usable private key for its certificate: {ex.Message}"
                : $"'{files.Key}' is not the PEM private key of the certificate in '{files.Certificate}': {ex.Message}";
            return false;
        }

        foreach (var extension in leaf.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension usage && usage.EnhancedKeyUsages[ServerAuthenticationOid] is null)
            {
                problem = $"'{files.Certificate}': its certificate is not for server authentication (its extended key usage lacks {ServerAuthenticationOid})";
                return false;
            }
        }

        if (OperatingSystem.IsWindows())
        {
            // SChannel cannot use the ephemeral key a PEM file gives; a PKCS#12 round trip stores it.
            leaf = X509CertificateLoader.LoadPkcs12(leaf.Export(X509ContentType.Pkcs12), null);
        }

        // Offline: the intermediates come from the file, and a handshake must never wait on fetching one.
        loaded = new LoadedCertificate(leaf, SslStreamCertificateContext.Create(leaf, chain, offline: true));
        problem = "";
        return true;
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "TLS certificate reloaded from {CertificateFile}: new connections get {Thumbprint} (was {PreviousThumbprint}), valid until {NotAfter:u}")]
    private static partial void LogReloaded(ILogger logger, string certificateFile, string previousThumbprint, string thumbprint, DateTime notAfter);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "TLS certificate not reloaded, keeping {Thumbprint} and trying again when the files change: {Problem}")]
    private static partial void LogReloadFailed(ILogger logger, string problem, string thumbprint);
}
