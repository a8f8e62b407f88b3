using System.Diagnostics;
using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>
/// An Orleans client in the test process, joined to a <see cref="ProcessCluster"/> through the same Redis membership:
/// it asks the management grain which silos are alive and where the chunk grains live. Read-only: it never calls a
/// product grain.
/// </summary>
public sealed class ClusterObserver : IAsyncDisposable
{
    // A call into a silo that was just killed waits for the cluster to notice; the poller wants an answer now.
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);

    private readonly IHost _host;
    private readonly IClusterClient _client;
    private readonly GrainType _chunkGrainType;

    private ClusterObserver(IHost host)
    {
        _host = host;
        _client = host.Services.GetRequiredService<IClusterClient>();
        _chunkGrainType = _client.GetGrain<IIsoChunkGrain>("type-probe/0").GetGrainId().Type;
    }

    /// <summary>Connects to the cluster (which must have at least one silo up).</summary>
    public static async Task<ClusterObserver> ConnectAsync(ProcessCluster cluster, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client => client
            .UseRedisClustering(cluster.Redis.Endpoint)
            .AddIsoClusterSerialization()
            .Configure<ClusterOptions>(options =>
            {
                options.ClusterId = cluster.ClusterId;
                options.ServiceId = ProcessCluster.ServiceId;
            }));
        var host = builder.Build();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await host.StartAsync(deadline.Token);
            return new ClusterObserver(host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The silos the cluster holds active (<c>IManagementGrain.GetHosts</c>), as silo ports; null when the
    /// management grain did not answer within a couple of seconds (e.g. it lived on a silo just killed).
    /// </summary>
    public async Task<IReadOnlySet<int>?> TryActiveSiloPortsAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(CallTimeout);
            var hosts = await Management.GetHosts(onlyActive: true, timeout.Token).WaitAsync(timeout.Token);
            return hosts.Keys.Select(silo => silo.Endpoint.Port).ToHashSet();
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or SiloUnavailableException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Polls <see cref="TryActiveSiloPortsAsync"/> until <paramref name="done"/> holds; the time it took, or null.</summary>
    public async Task<TimeSpan?> WaitForActiveSilosAsync(Func<IReadOnlySet<int>, bool> done, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(done);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await TryActiveSiloPortsAsync() is { } active && done(active))
            {
                return clock.Elapsed;
            }

            await Task.Delay(100);
        }

        return null;
    }

    /// <summary>
    /// How many chunk grain activations each silo holds (by silo port; silos holding none are absent), from
    /// <c>IManagementGrain.GetDetailedGrainStatistics</c> over every active silo.
    /// </summary>
    public async Task<IReadOnlyDictionary<int, int>> ChunkActivationsBySiloPortAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var statistics = await Management.GetDetailedGrainStatistics(null, null, timeout.Token);
        return statistics
            .Where(statistic => statistic.GrainId.Type.Equals(_chunkGrainType))
            .GroupBy(statistic => statistic.SiloAddress.Endpoint.Port)
            .ToDictionary(group => group.Key, group => group.Count());
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await _host.StopAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                // The cluster may already be gone; the test's result does not depend on a clean goodbye.
            }
        }

        _host.Dispose();
    }

    private IManagementGrain Management => _client.GetGrain<IManagementGrain>(0);
}
