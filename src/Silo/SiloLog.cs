using IsoCluster.Grains.Hosting;

namespace IsoCluster.Silo;

/// <summary>The stand-alone silo's own log lines.</summary>
internal static partial class SiloLog
{
    /// <summary>Says which silo this is, so a pod's first log line ties it to its membership entry.</summary>
    public static void Starting(ILogger logger, IConfiguration configuration)
    {
        var cluster = ClusterSettings.From(configuration);
        LogStarting(
            logger,
            configuration["POD_NAME"] ?? Environment.MachineName,
            configuration["POD_NAMESPACE"] ?? "(not in a pod)",
            cluster.Mode,
            cluster.ClusterId,
            cluster.AdvertisedIp,
            cluster.SiloPort);
    }

    [LoggerMessage(EventId = 4200, Level = LogLevel.Information, Message = "Silo {Name} (namespace {Namespace}) joining the {Membership} cluster {ClusterId} as {Address}:{SiloPort}")]
    private static partial void LogStarting(ILogger logger, string name, string @namespace, ClusteringMode membership, string clusterId, System.Net.IPAddress address, int siloPort);
}
