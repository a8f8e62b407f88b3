using Microsoft.Extensions.Options;

namespace IsoCluster.Gateway.Serving;

/// <summary>
/// How the gateway retries its grain reads (a machine's boot plan, a piece of a chunk) when a silo is lost or does
/// not answer (configuration section <c>Gateway:ClusterCalls</c>). Reads are idempotent, so a read that a retry can
/// save inside a BMC's deadline (about 5 s) succeeds (DESIGN invariant 8).
/// </summary>
public sealed class ClusterCallOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Gateway:ClusterCalls";

    /// <summary>
    /// The most attempts one read makes, the first one included. From 1 (no retry) to 10. Default: 6, so that with the
    /// default backoff the attempts span at least 1.7 s of the deadline: until a killed silo is declared dead (1.4 s for
    /// a SIGKILLed silo process in this repository's process-cluster tests) every attempt to reach it fails at once, and
    /// 4 attempts were spent within 0.7 to 1.4 s.
    /// </summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>
    /// How long one attempt may take before it is cancelled (through the grain call's cancellation token) and
    /// retried. At most <see cref="TotalDeadline"/>. Default: 2 s.
    /// </summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long all attempts of a read may take together, backoff included. The boot plan and the first piece, read
    /// before any header is sent, share one such deadline; every later piece has its own. Well under a BMC's 5 s
    /// request timeout, so that the BMC gets the 503/504 and retries rather than giving up on a silent connection.
    /// More than 0 and at most 1 minute. Default: 3.5 s.
    /// </summary>
    public TimeSpan TotalDeadline { get; set; } = TimeSpan.FromSeconds(3.5);

    /// <summary>
    /// The pause before the first retry; it doubles with each retry up to <see cref="MaxBackoff"/>, and each pause is
    /// drawn at random between half and all of that (jitter), so the readers of a lost silo do not retry in step.
    /// Default: 200 ms.
    /// </summary>
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest pause between two attempts; less than <see cref="TotalDeadline"/>. Default: 1 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Checks the <c>Gateway:ClusterCalls</c> settings at start, reporting every problem at once.</summary>
internal sealed class ClusterCallOptionsValidator : IValidateOptions<ClusterCallOptions>
{
    private const string Prefix = ClusterCallOptions.SectionName + ":";
    private static readonly TimeSpan LongestDeadline = TimeSpan.FromMinutes(1);

    public ValidateOptionsResult Validate(string? name, ClusterCallOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.MaxAttempts is < 1 or > 10)
        {
            problems.Add($"{Prefix}{nameof(options.MaxAttempts)} must be from 1 to 10, is {options.MaxAttempts}");
        }

        if (options.TotalDeadline <= TimeSpan.Zero || options.TotalDeadline > LongestDeadline)
        {
            problems.Add($"{Prefix}{nameof(options.TotalDeadline)} must be more than 0 and at most {LongestDeadline}, is {options.TotalDeadline}");
        }

        if (options.AttemptTimeout <= TimeSpan.Zero || options.AttemptTimeout > options.TotalDeadline)
        {
            problems.Add($"{Prefix}{nameof(options.AttemptTimeout)} must be more than 0 and at most {Prefix}{nameof(options.TotalDeadline)} ({options.TotalDeadline}), is {options.AttemptTimeout}");
        }

        if (options.BaseBackoff < TimeSpan.Zero || options.BaseBackoff > options.MaxBackoff)
        {
            problems.Add($"{Prefix}{nameof(options.BaseBackoff)} must be from 0 to {Prefix}{nameof(options.MaxBackoff)} ({options.MaxBackoff}), is {options.BaseBackoff}");
        }

        if (options.MaxBackoff < TimeSpan.Zero || options.MaxBackoff >= options.TotalDeadline)
        {
            problems.Add($"{Prefix}{nameof(options.MaxBackoff)} must be from 0 to less than {Prefix}{nameof(options.TotalDeadline)} ({options.TotalDeadline}), is {options.MaxBackoff}");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
