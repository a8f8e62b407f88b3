using System.Text;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hosting;

/// <summary>Checks the <c>Iso</c> settings at start, reporting every problem and naming each setting.</summary>
internal sealed class IsoOptionsValidator : IValidateOptions<IsoOptions>
{
    public ValidateOptionsResult Validate(string? name, IsoOptions options)
    {
        var failures = new List<string>();
        // A local file need not exist yet: a missing one is a 502 naming its path when a machine boots from it.
        if (!string.IsNullOrEmpty(options.UpstreamUrl) && !UpstreamUrlPolicy.TryParseOperatorSource(options.UpstreamUrl, out _, out var reason))
        {
            failures.Add($"--iso-upstream-url (Iso:UpstreamUrl): {reason}");
        }

        foreach (var prefix in options.SourceAllow)
        {
            if (!UpstreamUrlPolicy.TryParseHttpUrl(prefix, out _, out var prefixReason))
            {
                var hint = UpstreamAddressGuard.TryParseNetwork(prefix, out _, out _) ? "; an address or CIDR block belongs in --iso-source-allow-address" : "";
                failures.Add($"--iso-source-allow (Iso:SourceAllow): {prefixReason}{hint}");
            }
        }

        foreach (var entry in options.SourceAllowAddress)
        {
            if (!UpstreamAddressGuard.TryParseNetwork(entry, out _, out var addressReason))
            {
                failures.Add($"--iso-source-allow-address (Iso:SourceAllowAddress): {addressReason}");
            }
        }

        var magic = options.MagicString;
        if (magic.Length < 16)
        {
            failures.Add($"--iso-patch-magic-string (Iso:MagicString) must be at least 16 characters, is {magic.Length}");
        }

        foreach (var c in magic)
        {
            if (c is < '!' or > '~')
            {
                failures.Add("--iso-patch-magic-string (Iso:MagicString) must be printable ASCII without spaces");
                break;
            }
        }

        if (MagicStringScanner.OverlapsItself(Encoding.ASCII.GetBytes(magic)))
        {
            failures.Add("--iso-patch-magic-string (Iso:MagicString) must not overlap itself (a prefix equals a suffix), or its occurrences would be ambiguous");
        }

        if (options.RevalidateInterval < TimeSpan.Zero)
        {
            failures.Add("--iso-revalidate-interval (Iso:RevalidateInterval) must not be negative");
        }

        if (options.BootSessionIdle < TimeSpan.Zero)
        {
            failures.Add("--iso-boot-session-idle (Iso:BootSessionIdle) must not be negative");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Checks the <c>Cache</c> settings at start.</summary>
internal sealed class CacheOptionsValidator : IValidateOptions<CacheOptions>
{
    private const long MinChunk = 64 * 1024;
    private const long MaxChunk = 64 * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, CacheOptions options)
    {
        var failures = new List<string>();
        var chunk = options.ChunkSize.Bytes;
        if (chunk is < MinChunk or > MaxChunk || chunk % 4096 != 0)
        {
            failures.Add($"--chunk-size (Cache:ChunkSize) must be a multiple of 4KiB from 64KiB to 64MiB, is {options.ChunkSize}");
        }

        if (options.Size.Bytes < 2 * chunk)
        {
            failures.Add($"--cache-size (Cache:Size) must hold at least two chunks ({new ByteSize(2 * chunk)}), is {options.Size}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Checks the <c>Upstream</c> settings at start, reporting every problem and naming each setting.</summary>
internal sealed class UpstreamOptionsValidator : IValidateOptions<UpstreamOptions>
{
    private static readonly TimeSpan LongestRetryDeadline = TimeSpan.FromMinutes(1);

    public ValidateOptionsResult Validate(string? name, UpstreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Timeout <= TimeSpan.Zero)
        {
            failures.Add($"--upstream-timeout (Upstream:Timeout) must be positive, is {options.Timeout}");
        }

        if (options.StallTimeout <= TimeSpan.Zero || options.StallTimeout > options.Timeout)
        {
            failures.Add($"--upstream-stall-timeout (Upstream:StallTimeout) must be more than 0 and at most --upstream-timeout ({options.Timeout}), is {options.StallTimeout}");
        }

        if (options.RetryDeadline <= options.MaxBackoff || options.RetryDeadline > LongestRetryDeadline)
        {
            failures.Add($"--upstream-retry-deadline (Upstream:RetryDeadline) must be more than Upstream:MaxBackoff ({options.MaxBackoff}) and at most {LongestRetryDeadline}, is {options.RetryDeadline}");
        }

        if (options.MaxAttempts is < 1 or > 20)
        {
            failures.Add($"Upstream:MaxAttempts must be from 1 to 20, is {options.MaxAttempts}");
        }

        if (options.MaxBackoff < TimeSpan.Zero)
        {
            failures.Add($"Upstream:MaxBackoff must not be negative, is {options.MaxBackoff}");
        }

        if (options.BaseBackoff < TimeSpan.Zero || options.BaseBackoff > options.MaxBackoff)
        {
            failures.Add($"Upstream:BaseBackoff must be from 0 to Upstream:MaxBackoff ({options.MaxBackoff}), is {options.BaseBackoff}");
        }

        if (options.MaxRedirects is < 0 or > 20)
        {
            failures.Add($"Upstream:MaxRedirects must be from 0 to 20, is {options.MaxRedirects}");
        }

        if (options.MaxConnectionsPerServer < 1)
        {
            failures.Add($"--upstream-max-connections (Upstream:MaxConnectionsPerServer) must be at least 1, is {options.MaxConnectionsPerServer}");
        }

        if (options.MaxQueuedFetches < 0)
        {
            failures.Add($"--upstream-max-queued-fetches (Upstream:MaxQueuedFetches) must not be negative, is {options.MaxQueuedFetches}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
