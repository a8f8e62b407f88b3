using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace IsoCluster.Grains.Hosting;

/// <summary>Membership for silos and for gateways that join as Orleans clients, from the <c>Orleans</c> settings.</summary>
public static partial class IsoClusterClusteringExtensions
{
    // Gateways otherwise learn of new silos once a minute; a silo that joins (or rejoins) should take load promptly.
    private static readonly TimeSpan GatewayListRefreshPeriod = TimeSpan.FromSeconds(5);

    // Silos learn of changes by gossip at once; the table read is the backstop for a missed message.
    private static readonly TimeSpan MembershipTableRefresh = TimeSpan.FromSeconds(10);

    /// <summary>Joins the silo to the cluster named by <paramref name="configuration"/> (localhost or Redis).</summary>
    public static ISiloBuilder UseIsoClusterClustering(this ISiloBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var cluster = ClusterSettings.From(configuration);
        if (cluster.Mode == ClusteringMode.Localhost)
        {
            builder.UseLocalhostClustering(
                cluster.SiloPort,
                cluster.GatewayPort,
                new IPEndPoint(IPAddress.Loopback, cluster.PrimarySiloPort),
                cluster.ServiceId,
                cluster.ClusterId);
        }
        else
        {
            builder.UseRedisClustering(cluster.Redis!);
            builder.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = cluster.ClusterId;
                options.ServiceId = cluster.ServiceId;
            });
            builder.Configure<EndpointOptions>(options =>
            {
                options.AdvertisedIPAddress = cluster.AdvertisedIp;
                options.SiloPort = cluster.SiloPort;
                options.GatewayPort = cluster.GatewayPort;

                // Listen on every address, as Orleans' Kubernetes guidance recommends: the advertised address may be
                // one the process cannot bind by name (a pod IP behind NAT, a host with several interfaces).
                options.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, cluster.SiloPort);
                options.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Any, cluster.GatewayPort);
            });
        }

        builder.Configure<ClusterMembershipOptions>(options =>
        {
            options.ProbeTimeout = cluster.ProbeTimeout;
            options.NumMissedProbesLimit = cluster.MissedProbesLimit;
            options.TableRefreshTimeout = MembershipTableRefresh;
        });

        // Kubernetes' downward API names the pod; a silo named after it is easy to find in logs and membership.
        if (configuration["POD_NAME"] is { Length: > 0 } podName)
        {
            builder.Configure<SiloOptions>(options => options.SiloName = podName);
        }

        return builder;
    }

    /// <summary>
    /// Connects a gateway to the cluster named by <paramref name="configuration"/>. Until a silo answers the client
    /// keeps trying (the gateway stays up and not ready) rather than exiting, so gateways and silos may start in any order.
    /// </summary>
    public static IClientBuilder UseIsoClusterClustering(this IClientBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var cluster = ClusterSettings.From(configuration);
        if (cluster.Mode == ClusteringMode.Localhost)
        {
            builder.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
        }
        else
        {
            builder.UseRedisClustering(cluster.Redis!);
            builder.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = cluster.ClusterId;
                options.ServiceId = cluster.ServiceId;
            });
        }

        builder.Configure<Orleans.Configuration.GatewayOptions>(options => options.GatewayListRefreshPeriod = GatewayListRefreshPeriod);
        builder.UseConnectionRetryFilter<KeepConnecting>();
        return builder;
    }

    /// <summary>Retries the first connection to the cluster every second until the host stops.</summary>
    private sealed partial class KeepConnecting : IClientConnectionRetryFilter
    {
        private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

        private readonly TimeProvider _time;
        private readonly ILogger<KeepConnecting> _logger;
        private int _attempts;

        public KeepConnecting(TimeProvider time, ILogger<KeepConnecting> logger)
        {
            _time = time;
            _logger = logger;
        }

        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
        {
            // One line every ten attempts: a gateway waiting for its silos should say so without flooding the log.
            if (_attempts++ % 10 == 0)
            {
                LogWaitingForCluster(_logger, _attempts, exception.Message);
            }

            try
            {
                await Task.Delay(RetryDelay, _time, cancellationToken);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        [LoggerMessage(EventId = 4000, Level = LogLevel.Warning, Message = "No silo reachable yet (attempt {Attempt}): {Reason}; retrying every second")]
        private static partial void LogWaitingForCluster(ILogger logger, int attempt, string reason);
    }
}
