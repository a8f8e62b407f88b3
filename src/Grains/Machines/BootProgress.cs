using System.Numerics;

namespace IsoCluster.Grains.Machines;

/// <summary>
/// One boot of one machine, added up from the reports of every gateway that served it. Distinct bytes are a union:
/// each report's block bitmap is OR-ed into the boot's, so blocks read through two gateways count once.
/// </summary>
/// <remarks>
/// A boot ends when it has had no successful read for the boot-session idle time: <see cref="BootState.Finished"/> when
/// its latest answer was a success, <see cref="BootState.Failed"/> when it was an error. Until then it is
/// <see cref="BootState.Booting"/>, or <see cref="BootState.Failed"/> while its latest answer is an error, which a
/// successful read turns back into booting: a BMC that retries a failed read and gets it has not failed its boot.
/// </remarks>
internal sealed class BootProgress
{
    // Bytes per second are averaged over this many one-second buckets.
    private const int RateSeconds = 5;

    private readonly long _frequency;
    private readonly long _startedAt;
    private readonly long[] _rateSecond = new long[RateSeconds];
    private readonly long[] _rateBytes = new long[RateSeconds];
    private ulong[] _blocks;
    private long _distinctBlocks;
    private long _lastSuccessAt;

    private BootProgress(string mac, BootReadReport first, long now, long frequency)
    {
        Mac = mac;
        SourceIso = first.SourceIso;
        VersionId = first.VersionId;
        IsoLength = first.IsoLength;
        FirstRead = first.FirstRead;
        LastRead = first.FirstRead;
        _frequency = frequency;
        _startedAt = now;
        _lastSuccessAt = now;
        _blocks = new ulong[BootReadReport.WordCount(first.IsoLength)];
    }

    public string Mac { get; }

    public string? SourceIso { get; private set; }

    public string? VersionId { get; private set; }

    public long IsoLength { get; private set; }

    public long BytesServed { get; private set; }

    public long Requests { get; private set; }

    public DateTimeOffset FirstRead { get; private set; }

    public DateTimeOffset LastRead { get; private set; }

    public DateTimeOffset? LastSuccess { get; private set; }

    public BootReadError? LastError { get; private set; }

    /// <summary>Whether the boot is over; further reports of errors still add to it, a successful read starts a new boot.</summary>
    public bool Ended { get; private set; }

    /// <summary>Whether the latest answer was an error.</summary>
    public bool Failing => LastError is { } error && (LastSuccess is not { } success || error.At > success);

    public BootState State => Failing ? BootState.Failed : Ended ? BootState.Finished : BootState.Booting;

    /// <summary>Bytes of the ISO served at least once, in whole blocks, the last one as long as the ISO leaves it.</summary>
    public long DistinctBytes
    {
        get
        {
            var bytes = _distinctBlocks * BootReadReport.BlockSize;
            var lastBlock = (IsoLength - 1) / BootReadReport.BlockSize;
            if (IsoLength > 0 && IsSet(lastBlock))
            {
                bytes -= ((lastBlock + 1) * BootReadReport.BlockSize) - IsoLength;
            }

            return bytes;
        }
    }

    /// <summary>How long from the first answer to the latest.</summary>
    public TimeSpan Duration => LastRead - FirstRead;

    /// <summary>A boot that starts with <paramref name="report"/>, which the caller then <see cref="Add"/>s.</summary>
    public static BootProgress Start(string mac, BootReadReport report, long now, long frequency) => new(mac, report, now, frequency);

    /// <summary>
    /// Whether <paramref name="report"/> belongs to another boot than this one: another version or source, a successful
    /// read after this boot ended, or an error after it finished. A report that knows no version (an error before one
    /// could be read) belongs to the boot at hand, and so do further errors after a failed end (a BMC retrying).
    /// </summary>
    public bool IsOtherBoot(BootReadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (Ended && (IsReading(report) || !Failing))
        {
            return true;
        }

        return (report.VersionId is not null && VersionId is not null && report.VersionId != VersionId)
            || (report.SourceIso is not null && SourceIso is not null && report.SourceIso != SourceIso);
    }

    /// <summary>Adds a gateway's report, received at <paramref name="now"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public void Add(BootReadReport report, long now)
    {
        ArgumentNullException.ThrowIfNull(report);

        // An error before the version was read, then reads of it: the boot learns what it reads.
        if (VersionId is null && report.VersionId is not null)
        {
            VersionId = report.VersionId;
            IsoLength = report.IsoLength;
            _blocks = new ulong[BootReadReport.WordCount(report.IsoLength)];
            _distinctBlocks = 0;
        }

        SourceIso ??= report.SourceIso;
        BytesServed += report.BytesServed;
        Requests += report.Requests;
        if (report.FirstRead < FirstRead)
        {
            FirstRead = report.FirstRead;
        }

        if (report.LastRead > LastRead)
        {
            LastRead = report.LastRead;
        }

        if (report.LastSuccess is { } success && (LastSuccess is not { } known || success > known))
        {
            LastSuccess = success;
        }

        if (IsReading(report))
        {
            _lastSuccessAt = now;
        }

        if (report.LastError is { } error && (LastError is not { } last || error.At >= last.At))
        {
            LastError = error;
        }

        if (report.VersionId == VersionId)
        {
            MergeBlocks(report.FirstWord, report.BlockWords);
        }

        AddToRate(report.BytesServed, now);
    }

    /// <summary>Whether <paramref name="report"/> shows the machine reading: a successful answer, or bytes of a response still being written.</summary>
    public static bool IsReading(BootReadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.LastSuccess is not null || report.BytesServed > 0;
    }

    /// <summary>Whether the boot has gone <paramref name="idle"/> without a successful read by <paramref name="now"/>.</summary>
    public bool IsIdle(long now, TimeSpan idle) => !Ended && (now - _lastSuccessAt) >= (long)(idle.TotalSeconds * _frequency);

    /// <summary>Ends the boot: finished, or failed when its latest answer was an error.</summary>
    public void End() => Ended = true;

    /// <summary>The boot as the admin API shows it, at <paramref name="now"/>.</summary>
    public MachineBoot Snapshot(long now) => new(
        Mac,
        State,
        SourceIso,
        VersionId,
        IsoLength,
        BytesServed,
        DistinctBytes,
        Requests,
        FirstRead,
        LastRead,
        Ended ? 0 : BytesPerSecond(now),
        LastError?.ToString());

    // Bits outside the ISO (a report about another length) are ignored rather than trusted.
    private void MergeBlocks(int firstWord, ulong[] words)
    {
        for (var i = 0; i < words.Length; i++)
        {
            var index = firstWord + i;
            if (index < 0 || index >= _blocks.Length)
            {
                continue;
            }

            var added = words[i] & ~_blocks[index];
            if (index == _blocks.Length - 1)
            {
                added &= LastWordMask();
            }

            _distinctBlocks += BitOperations.PopCount(added);
            _blocks[index] |= added;
        }
    }

    private ulong LastWordMask()
    {
        var blocks = (IsoLength + BootReadReport.BlockSize - 1) / BootReadReport.BlockSize;
        var used = (int)(blocks % 64);
        return used == 0 ? ulong.MaxValue : (1UL << used) - 1;
    }

    private bool IsSet(long block)
    {
        var word = block / 64;
        return word < _blocks.Length && (_blocks[word] & (1UL << (int)(block % 64))) != 0;
    }

    private void AddToRate(long bytes, long now)
    {
        var second = now / _frequency;
        var slot = (int)(second % RateSeconds);
        if (_rateSecond[slot] != second)
        {
            _rateSecond[slot] = second;
            _rateBytes[slot] = 0;
        }

        _rateBytes[slot] += bytes;
    }

    private double BytesPerSecond(long now)
    {
        var second = now / _frequency;
        long bytes = 0;
        for (var i = 0; i < RateSeconds; i++)
        {
            if (second - _rateSecond[i] < RateSeconds)
            {
                bytes += _rateBytes[i];
            }
        }

        // A boot younger than the window is averaged over its own age, so its first seconds are not diluted.
        var seconds = Math.Clamp((double)(now - _startedAt) / _frequency, 1, RateSeconds);
        return Math.Round(bytes / seconds, 1);
    }
}
