using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace IsoCluster.TestSupport;

/// <summary>A self-signed certificate for 127.0.0.1, for gateways tested over HTTPS.</summary>
public static class TestCertificate
{
    /// <summary>Writes the certificate and its key as PEM files into <paramref name="directory"/>.</summary>
    /// <returns>The certificate file and the key file.</returns>
    public static (string CertificateFile, string KeyFile) WritePem(string directory)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificateFile = Path.Combine(directory, "gateway.crt");
        var keyFile = Path.Combine(directory, "gateway.key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certificateFile, keyFile);
    }
}
