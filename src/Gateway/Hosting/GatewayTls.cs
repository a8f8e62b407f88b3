using System.Security.Authentication;

namespace IsoCluster.Gateway.Hosting;

/// <summary>HTTPS for the gateway's <c>https://</c> <c>--urls</c>: TLS 1.2 and 1.3 only, and a certificate reloaded from its files.</summary>
internal static class GatewayTls
{
    private const string PasswordKey = "Kestrel:Certificates:Default:Password";

    /// <summary>
    /// Configures Kestrel's HTTPS defaults and, with <c>--tls-cert-file</c>, loads the certificate and registers its
    /// <see cref="CertificateReloader"/>. Returns one message per problem, each naming its flag; nothing is registered then.
    /// </summary>
    public static List<string> AddGatewayTls(this WebApplicationBuilder builder, IConfiguration configuration)
    {
        var problems = new List<string>();
        foreach (var (flag, key) in new[] { ("tls-cert-file", GatewaySettings.TlsCertificateKey), ("tls-key-file", GatewaySettings.TlsKeyKey) })
        {
            if (configuration[key] is { Length: > 0 } path && !File.Exists(path))
            {
                problems.Add($"--{flag} ({key}): '{path}' does not exist");
            }
        }

        if (problems.Count > 0)
        {
            return problems;
        }

        var reloads = false;
        if (configuration[GatewaySettings.TlsCertificateKey] is { Length: > 0 } certificatePath)
        {
            var files = new CertificateFiles(
                certificatePath,
                configuration[GatewaySettings.TlsKeyKey] is { Length: > 0 } keyPath ? keyPath : null,
                configuration[PasswordKey] is { Length: > 0 } password ? password : null);
            if (!CertificateReloader.TryLoad(files, out var initial, out var bytes, out var problem))
            {
                problems.Add($"--tls-cert-file ({GatewaySettings.TlsCertificateKey}) or --tls-key-file ({GatewaySettings.TlsKeyKey}): {problem}");
                return problems;
            }

            builder.Services.AddSingleton(services => new CertificateReloader(
                files, initial!, bytes, services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<CertificateReloader>>()));
            builder.Services.AddHostedService(services => services.GetRequiredService<CertificateReloader>());
            reloads = true;
        }

        // One callback: Kestrel keeps only the last ConfigureHttpsDefaults. It runs for every https:// address before
        // that endpoint's own configuration, so a Kestrel:Endpoints entry may still set its own protocols.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
        {
            // TLS 1.0 and 1.1 are deprecated (RFC 8996); set explicitly rather than left to the OS's OpenSSL policy.
            https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            if (!reloads)
            {
                return;
            }

            var reloader = kestrel.ApplicationServices.GetRequiredService<CertificateReloader>();

            // A selector keeps Kestrel from pinning the certificate it loaded itself at start. The handshake then gets
            // the current certificate context instead, which (unlike a selector's bare certificate) carries the
            // intermediates from the PEM file, as Kestrel's own PEM loading sends them. Read per connection, so a
            // reloaded certificate reaches the next handshake. (OnAuthenticate rules out HTTP/3, which the gateway
            // does not enable.)
            https.ServerCertificateSelector = (_, _) => reloader.Current.Leaf;
            https.OnAuthenticate = (_, ssl) =>
            {
                ssl.ServerCertificateSelectionCallback = null;
                ssl.ServerCertificate = null;
                ssl.ServerCertificateContext = reloader.Current.Context;
            };
        }));
        return problems;
    }
}
