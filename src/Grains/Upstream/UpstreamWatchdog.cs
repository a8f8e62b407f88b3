using System.Globalization;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// Ends one upstream attempt that stops making progress (<see cref="UpstreamOptions.StallTimeout"/> without a byte) or
/// that runs too long altogether (<see cref="UpstreamOptions.Timeout"/>). Its <see cref="Token"/> goes to every await of
/// the attempt; <see cref="Progress"/> re-arms the stall timer whenever something arrives.
/// </summary>
/// <remarks>
/// A stall is told apart from slowness on purpose. A total timeout short enough to catch a stall quickly (a second or
/// so, to leave time for a retry inside a BMC's 5 s) would also kill every healthy fetch of a 1 MiB chunk from an
/// upstream slower than about 1 MB/s, and no retry of such a fetch could ever succeed; a long one would leave a stalled
/// upstream holding the BMC past its deadline. Watching for progress catches the stall within the stall timeout however
/// big the chunk, and lets a slow but moving transfer finish: its chunk is then cached for the BMC's retry.
/// </remarks>
internal sealed class UpstreamWatchdog : IDisposable
{
    private readonly CancellationTokenSource _stall;
    private readonly CancellationTokenSource _limit;
    private readonly CancellationTokenSource _linked;
    private readonly TimeSpan _stallTimeout;
    private readonly TimeSpan _timeout;

    public UpstreamWatchdog(TimeSpan stallTimeout, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        _stallTimeout = stallTimeout;
        _timeout = timeout;
        _stall = new CancellationTokenSource(stallTimeout, time);
        _limit = new CancellationTokenSource(timeout, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stall.Token, _limit.Token);
    }

    /// <summary>Cancelled when the attempt stalls, runs out of time, or the caller gives up.</summary>
    public CancellationToken Token => _linked.Token;

    /// <summary>Something arrived: the stall timer starts over.</summary>
    public void Progress() => _stall.CancelAfter(_stallTimeout);

    /// <summary>Why the attempt was ended by this watchdog, or null when it was not (the caller's cancellation is not).</summary>
    public UpstreamRead? Expired(string what)
    {
        if (_stall.IsCancellationRequested)
        {
            return new(UpstreamStatus.TimedOut, $"no byte from the upstream for {Seconds(_stallTimeout)} s while {what}", Transient: true);
        }

        return _limit.IsCancellationRequested
            ? new(UpstreamStatus.TimedOut, $"{what} took longer than {Seconds(_timeout)} s", Transient: true)
            : null;
    }

    public void Dispose()
    {
        _linked.Dispose();
        _stall.Dispose();
        _limit.Dispose();
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
