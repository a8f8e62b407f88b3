using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

namespace IsoCluster.Grains.Hosting;

/// <summary>How silos and gateways find each other (membership).</summary>
public enum ClusteringMode
{
    /// <summary>Silos on one host, joined through a primary silo's port: development and the embedded default.</summary>
    Localhost = 0,

    /// <summary>Membership in Redis: any number of silos and gateways on any hosts, in any start order.</summary>
    Redis = 1,
}

/// <summary>
/// The <c>Cluster</c> configuration section: membership, addresses, ports and failure detection. (Not <c>Orleans</c>:
/// Orleans reads that section itself, and a key such as <c>Orleans:Clustering</c> would name one of its providers.)
/// </summary>
/// <param name="Mode">How members find each other.</param>
/// <param name="Redis">The StackExchange.Redis configuration string, with <see cref="ClusteringMode.Redis"/>.</param>
/// <param name="AdvertisedIp">The address other members reach this silo at.</param>
/// <param name="SiloPort">Silo-to-silo port.</param>
/// <param name="GatewayPort">Port Orleans clients (gateways) connect to.</param>
/// <param name="PrimarySiloPort">With <see cref="ClusteringMode.Localhost"/>, the silo port of the silo everyone joins.</param>
/// <param name="ClusterId">Shared by the members of one deployment.</param>
/// <param name="ServiceId">Stable across deployments.</param>
/// <param name="ProbeTimeout">How long a liveness probe of another silo may take.</param>
/// <param name="MissedProbesLimit">Missed probes after which a silo votes another dead.</param>
public sealed record ClusterSettings(
    ClusteringMode Mode,
    string? Redis,
    IPAddress AdvertisedIp,
    int SiloPort,
    int GatewayPort,
    int PrimarySiloPort,
    string ClusterId,
    string ServiceId,
    TimeSpan ProbeTimeout,
    int MissedProbesLimit)
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Cluster";

    /// <summary>
    /// The default probe timeout. With <see cref="DefaultMissedProbesLimit"/> a killed silo is voted dead about three
    /// seconds after it stops answering (Orleans' defaults take 15 s or more), well inside the time a BMC keeps
    /// retrying, while one slow probe under load does not evict a healthy silo.
    /// </summary>
    public static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The default number of missed probes that make a silo suspect.</summary>
    public const int DefaultMissedProbesLimit = 3;

    /// <summary>Reads and checks the settings; throws one <see cref="InvalidOperationException"/> naming every bad flag.</summary>
    public static ClusterSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var section = configuration.GetSection(SectionName);

        var mode = ClusteringMode.Localhost;
        if (section["Membership"] is { Length: > 0 } modeText && !Enum.TryParse(modeText, ignoreCase: true, out mode))
        {
            problems.Add($"--orleans-clustering (Cluster:Membership) must be localhost or redis, not '{modeText}'");
        }

        var redis = section["Redis"] is { Length: > 0 } r ? r : null;
        if (mode == ClusteringMode.Redis && redis is null)
        {
            problems.Add("--orleans-redis (Cluster:Redis) is required with --orleans-clustering redis, e.g. 127.0.0.1:6379");
        }

        var silo = Port(section, problems, "orleans-silo-port", "SiloPort", 11111);
        var gateway = Port(section, problems, "orleans-gateway-port", "GatewayPort", 30000);
        var primary = Port(section, problems, "orleans-primary-silo-port", "PrimarySiloPort", silo);

        IPAddress advertised;
        if (section["AdvertisedIp"] is { Length: > 0 } ipText)
        {
            if (!IPAddress.TryParse(ipText, out advertised!))
            {
                problems.Add($"--orleans-advertised-ip (Cluster:AdvertisedIp) must be an IP address, not '{ipText}'");
            }
        }
        else
        {
            advertised = mode == ClusteringMode.Localhost ? IPAddress.Loopback : DefaultAdvertisedIp(configuration);
        }

        var probeTimeout = DefaultProbeTimeout;
        if (section["ProbeTimeout"] is { Length: > 0 } probeText
            && (!TimeSpan.TryParse(probeText, CultureInfo.InvariantCulture, out probeTimeout) || probeTimeout <= TimeSpan.Zero))
        {
            problems.Add($"--orleans-probe-timeout (Cluster:ProbeTimeout) must be a positive time (hh:mm:ss), not '{probeText}'");
        }

        var missedProbes = DefaultMissedProbesLimit;
        if (section["MissedProbesLimit"] is { Length: > 0 } missedText
            && (!int.TryParse(missedText, NumberStyles.None, CultureInfo.InvariantCulture, out missedProbes) || missedProbes < 1))
        {
            problems.Add($"--orleans-missed-probes-limit (Cluster:MissedProbesLimit) must be a whole number of at least 1, not '{missedText}'");
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
        }

        return new ClusterSettings(
            mode,
            redis,
            advertised!,
            silo,
            gateway,
            primary,
            section["ClusterId"] is { Length: > 0 } cluster ? cluster : "dev",
            section["ServiceId"] is { Length: > 0 } service ? service : "dev",
            probeTimeout,
            missedProbes);
    }

    // In a pod the downward API gives POD_IP; elsewhere, the first address of an interface that is up and not
    // loopback, which is what other hosts can reach on a typical one-NIC server.
    private static IPAddress DefaultAdvertisedIp(IConfiguration configuration)
    {
        if (configuration["POD_IP"] is { Length: > 0 } podIp && IPAddress.TryParse(podIp, out var fromPod))
        {
            return fromPod;
        }

        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var address in nic.GetIPProperties().UnicastAddresses)
            {
                if (address.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address.Address))
                {
                    return address.Address;
                }
            }
        }

        return IPAddress.Loopback;
    }

    private static int Port(IConfigurationSection section, List<string> problems, string flag, string key, int fallback)
    {
        var text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
        {
            return port;
        }

        problems.Add($"--{flag} (Cluster:{key}) must be a TCP port from 1 to 65535, not '{text}'");
        return fallback;
    }
}
