using System.Collections.Concurrent;

namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// What this silo's chunk cache holds of each ISO version and how it answered reads of it, for the admin API's cache
/// report (<c>/api/cache</c>). <see cref="ChunkMemoryBudget"/> keeps the held bytes current as chunks come and go; the
/// chunk grains count their hits and misses.
/// </summary>
public sealed class ChunkCacheLedger
{
    // Versions that hold no chunk any more are forgotten beyond this many, so that a long-lived silo whose upstreams
    // change often does not keep an account per version it ever served; versions still cached are always kept.
    private const int MaxAccounts = 256;

    private readonly ConcurrentDictionary<string, VersionCacheAccount> _accounts = new(StringComparer.Ordinal);

    /// <summary>Every version this silo holds chunks of or has counted reads for.</summary>
    public IEnumerable<VersionCacheAccount> Accounts => _accounts.Values;

    /// <summary>The account of <paramref name="version"/> on this silo, opened on first use.</summary>
    public VersionCacheAccount AccountFor(IsoVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (_accounts.TryGetValue(version.Id, out var account))
        {
            return account;
        }

        account = _accounts.GetOrAdd(version.Id, static (_, version) => new VersionCacheAccount(version), version);
        if (_accounts.Count > MaxAccounts)
        {
            foreach (var (id, other) in _accounts)
            {
                if (other.Chunks == 0 && other != account)
                {
                    _accounts.TryRemove(id, out _);
                }
            }
        }

        return account;
    }
}

/// <summary>One ISO version's share of a silo's chunk cache and the reads of it the silo answered.</summary>
public sealed class VersionCacheAccount
{
    private long _cachedBytes;
    private long _chunks;
    private long _hits;
    private long _misses;

    /// <summary>Opens the account of <paramref name="version"/>.</summary>
    public VersionCacheAccount(IsoVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        Version = version;
    }

    /// <summary>The version accounted for.</summary>
    public IsoVersion Version { get; }

    /// <summary>Bytes of the ISO held (chunk data, without the margins fetched around each chunk).</summary>
    public long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <summary>Chunks held.</summary>
    public long Chunks => Interlocked.Read(ref _chunks);

    /// <summary>Reads answered from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Reads that had to fetch their chunk from the upstream.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Counts a read answered from the cache.</summary>
    public void Hit() => Interlocked.Increment(ref _hits);

    /// <summary>Counts a read that had to fetch its chunk.</summary>
    public void Miss() => Interlocked.Increment(ref _misses);

    internal void Admitted(long bytes)
    {
        Interlocked.Add(ref _cachedBytes, bytes);
        Interlocked.Increment(ref _chunks);
    }

    internal void Removed(long bytes)
    {
        Interlocked.Add(ref _cachedBytes, -bytes);
        Interlocked.Decrement(ref _chunks);
    }
}
