using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace IsoCluster.Grains.Hosting;

/// <summary>How silos and clients on one host find each other, read from the <c>Orleans</c> configuration section.</summary>
public sealed record LocalClusterSettings(int SiloPort, int GatewayPort, int PrimarySiloPort, string ClusterId, string ServiceId)
{
    /// <summary>Reads and checks the settings, naming the one that is wrong.</summary>
    public static LocalClusterSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var silo = Port(configuration, "orleans-silo-port", "Orleans:SiloPort", 11111);
        var gateway = Port(configuration, "orleans-gateway-port", "Orleans:GatewayPort", 30000);
        var primary = Port(configuration, "orleans-primary-silo-port", "Orleans:PrimarySiloPort", silo);
        var clusterId = configuration["Orleans:ClusterId"] is { Length: > 0 } cluster ? cluster : "dev";
        var serviceId = configuration["Orleans:ServiceId"] is { Length: > 0 } service ? service : "dev";
        return new LocalClusterSettings(silo, gateway, primary, clusterId, serviceId);
    }

    private static int Port(IConfiguration configuration, string flag, string key, int fallback)
    {
        var text = configuration[key];
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new InvalidOperationException($"--{flag} ({key}) must be a TCP port from 1 to 65535, not '{text}'");
    }
}
