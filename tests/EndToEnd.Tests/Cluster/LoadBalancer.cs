using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>
/// What the test puts in front of the gateways, as a Kubernetes Service or a hardware load balancer would be: it
/// spreads reads over the gateways in rotation, and (when told to follow readiness) polls every gateway's
/// <c>/health/ready</c> and takes one out of rotation as soon as it answers anything but 200, or refuses a
/// connection. A gateway comes back when its probe answers 200 again.
/// </summary>
public sealed class LoadBalancer : IAsyncDisposable
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<ClusterProcess> _gateways;
    private readonly int[] _inRotation;
    private readonly Stopwatch _clock;
    private readonly ConcurrentQueue<string> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _probeClient = new() { Timeout = ProbeTimeout };
    private readonly Task _probing;

    /// <param name="gateways">The gateways behind it, all in rotation at first.</param>
    /// <param name="followReadiness">Whether to probe readiness; without it every gateway stays in rotation.</param>
    /// <param name="clock">The test's clock, for the times in <see cref="Events"/>.</param>
    public LoadBalancer(IReadOnlyList<ClusterProcess> gateways, bool followReadiness, Stopwatch clock)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        _gateways = gateways;
        _inRotation = [.. gateways.Select(_ => 1)];
        _clock = clock;
        _probing = followReadiness ? Task.Run(ProbeAsync) : Task.CompletedTask;
    }

    /// <summary>When and why gateways left or rejoined the rotation.</summary>
    public IReadOnlyList<string> Events => [.. _events];

    /// <summary>
    /// The gateway for a BMC's next read: the in-rotation gateways in turn, so consecutive reads of one BMC alternate
    /// between them. Null when none is in rotation.
    /// </summary>
    public ClusterProcess? Pick(int bmc, long read)
    {
        var candidates = new List<ClusterProcess>(_gateways.Count);
        for (var i = 0; i < _gateways.Count; i++)
        {
            if (Volatile.Read(ref _inRotation[i]) == 1)
            {
                candidates.Add(_gateways[i]);
            }
        }

        return candidates.Count == 0 ? null : candidates[(int)((bmc + read) % candidates.Count)];
    }

    /// <summary>A connection to <paramref name="gateway"/> was refused: nothing listens there any more.</summary>
    public void Refused(ClusterProcess gateway) => SetInRotation(_gateways.ToList().IndexOf(gateway), false, "refused a connection");

    /// <summary>Whether <paramref name="exception"/> is a refused connection: the request never reached a gateway.</summary>
    public static bool IsRefusedConnection(HttpRequestException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused };
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _probing;
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        _probeClient.Dispose();
        _stop.Dispose();
    }

    private async Task ProbeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await Task.WhenAll(_gateways.Select(async (gateway, i) =>
            {
                string? notReady;
                try
                {
                    using var response = await _probeClient.GetAsync(gateway.ReadyUrl, _stop.Token);
                    notReady = response.StatusCode == HttpStatusCode.OK ? null : $"/health/ready {(int)response.StatusCode}";
                }
                catch (HttpRequestException e)
                {
                    notReady = IsRefusedConnection(e) ? "/health/ready refused" : $"/health/ready failed: {e.Message}";
                }
                catch (TaskCanceledException) when (!_stop.IsCancellationRequested)
                {
                    notReady = "/health/ready timed out";
                }

                SetInRotation(i, notReady is null, notReady ?? "/health/ready 200");
            }));
            await Task.Delay(ProbeInterval, _stop.Token);
        }
    }

    private void SetInRotation(int index, bool inRotation, string reason)
    {
        if (index >= 0 && Interlocked.Exchange(ref _inRotation[index], inRotation ? 1 : 0) != (inRotation ? 1 : 0))
        {
            _events.Enqueue(string.Create(
                CultureInfo.InvariantCulture,
                $"{_clock.Elapsed.TotalSeconds:0.000} s: {_gateways[index].Name} {(inRotation ? "back in" : "out of")} rotation ({reason})"));
        }
    }
}
