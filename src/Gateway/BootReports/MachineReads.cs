using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Gateway.BootReports;

/// <summary>How a request ended, as far as a machine's boot is concerned.</summary>
internal enum ReadOutcome
{
    /// <summary>2xx or 304: the machine got what it asked for.</summary>
    Success = 0,

    /// <summary>An error answer (5xx, a refused boot plan) or a response cut short after its headers.</summary>
    Failure = 1,

    /// <summary>Neither: 412, 416, or the client left before the response was complete.</summary>
    Neither = 2,
}

/// <summary>
/// What this gateway served one machine from one version of its source ISO since its last report: added to on the
/// serving path without allocating, taken as a <see cref="BootReadReport"/> by <see cref="BootReadTracker"/> once a second.
/// </summary>
/// <remarks>
/// One lock, held for a few additions: the requests of one machine rarely overlap (a BMC reads one range after another),
/// so it is almost never contended, and the report is taken consistently.
/// </remarks>
internal sealed class MachineReads
{
    // A failure's reason is kept to a line an operator can read in a table.
    private const int MaxReason = 200;

    private readonly Lock _lock = new();
    private readonly ulong[] _blocks;
    private int _firstWord = int.MaxValue;
    private int _lastWord = -1;
    private long _bytes;
    private int _requests;
    private DateTimeOffset _firstRead;
    private DateTimeOffset _lastRead;
    private DateTimeOffset? _lastSuccess;
    private BootReadError? _lastError;
    private long _lastActivity;
    private bool _retired;

    public MachineReads(BootReadTracker owner, ReadsKey key, string mac, string? sourceIso, long isoLength, long now)
    {
        Owner = owner;
        Key = key;
        Mac = mac;
        SourceIso = sourceIso;
        IsoLength = isoLength;
        _blocks = new ulong[BootReadReport.WordCount(isoLength)];
        _lastActivity = now;
    }

    public BootReadTracker Owner { get; }

    public ReadsKey Key { get; }

    /// <summary>The MAC as the machine's grain is keyed.</summary>
    public string Mac { get; }

    public string? SourceIso { get; }

    public long IsoLength { get; }

    /// <summary>Bytes at <paramref name="position"/> written to the machine.</summary>
    public void Served(long position, int length)
    {
        if (length <= 0)
        {
            return;
        }

        lock (_lock)
        {
            _bytes += length;
            var last = Math.Min(position + length - 1, IsoLength - 1);
            for (var block = position / BootReadReport.BlockSize; block <= last / BootReadReport.BlockSize; block++)
            {
                var word = (int)(block / 64);
                _blocks[word] |= 1UL << (int)(block % 64);
                _firstWord = Math.Min(_firstWord, word);
                _lastWord = Math.Max(_lastWord, word);
            }

            Touch();
        }
    }

    /// <summary>A request answered at <paramref name="at"/>; <paramref name="failure"/> says how when it failed.</summary>
    public void Answered(ReadOutcome outcome, DateTimeOffset at, in IsoFailure failure = default)
    {
        // Made before the lock, and only for a failure: the successful path allocates nothing.
        var error = outcome == ReadOutcome.Failure ? new BootReadError(failure.StatusCode, Shorten(failure.Reason), at) : null;
        lock (_lock)
        {
            if (_requests == 0)
            {
                _firstRead = at;
            }

            _requests++;
            _lastRead = at;
            if (outcome == ReadOutcome.Success)
            {
                _lastSuccess = at;
            }
            else if (error is not null)
            {
                _lastError = error;
            }

            Touch();
        }
    }

    /// <summary>
    /// What was served since the last report, or null when nothing was; the counts start again from zero. Bytes of a
    /// response still being written carry <paramref name="now"/> as their time.
    /// </summary>
    public BootReadReport? TakeReport(DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_requests == 0 && _bytes == 0 && _lastWord < 0)
            {
                return null;
            }

            var words = _lastWord < 0 ? [] : _blocks.AsSpan(_firstWord, _lastWord - _firstWord + 1).ToArray();
            var report = new BootReadReport(
                SourceIso,
                Key.VersionId,
                IsoLength,
                _bytes,
                _requests,
                _requests > 0 ? _firstRead : now,
                _requests > 0 ? _lastRead : now,
                _lastSuccess,
                _lastError,
                _lastWord < 0 ? 0 : _firstWord,
                words);
            if (_lastWord >= 0)
            {
                Array.Clear(_blocks, _firstWord, _lastWord - _firstWord + 1);
            }

            _firstWord = int.MaxValue;
            _lastWord = -1;
            _bytes = 0;
            _requests = 0;
            _lastSuccess = null;
            _lastError = null;
            return report;
        }
    }

    /// <summary>Puts back a report the machine's grain did not take, so the next report carries it.</summary>
    public void Restore(BootReadReport report)
    {
        lock (_lock)
        {
            _bytes += report.BytesServed;
            if (report.Requests > 0 && (_requests == 0 || report.FirstRead < _firstRead))
            {
                _firstRead = report.FirstRead;
            }

            if (report.LastRead > _lastRead)
            {
                _lastRead = report.LastRead;
            }

            _requests += report.Requests;
            if (report.LastSuccess is { } success && (_lastSuccess is not { } known || success > known))
            {
                _lastSuccess = success;
            }

            if (report.LastError is { } error && (_lastError is not { } last || error.At > last.At))
            {
                _lastError = error;
            }

            for (var i = 0; i < report.BlockWords.Length; i++)
            {
                var word = report.FirstWord + i;
                if (report.BlockWords[i] != 0)
                {
                    _blocks[word] |= report.BlockWords[i];
                    _firstWord = Math.Min(_firstWord, word);
                    _lastWord = Math.Max(_lastWord, word);
                }
            }
        }
    }

    /// <summary>
    /// Marks these reads retired when nothing is pending and nothing happened for <paramref name="idle"/> ticks; the
    /// tracker then drops them.
    /// </summary>
    public bool TryRetire(long now, long idle)
    {
        lock (_lock)
        {
            if (_requests > 0 || _bytes > 0 || _lastWord >= 0 || now - _lastActivity < idle)
            {
                return false;
            }

            _retired = true;
            return true;
        }
    }

    // Called under the lock. A request that held these reads across their retirement (a response slower than the retire
    // time) puts them back, so what it adds is still reported.
    private void Touch()
    {
        _lastActivity = Owner.Now;
        if (_retired)
        {
            _retired = false;
            Owner.Revive(this);
        }
    }

    private static string Shorten(string reason) => reason.Length <= MaxReason ? reason : string.Concat(reason.AsSpan(0, MaxReason), "…");
}
