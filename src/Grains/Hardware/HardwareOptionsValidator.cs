using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hardware;

/// <summary>Checks <see cref="HardwareOptions"/> at startup, reporting every problem and naming the setting.</summary>
internal sealed class HardwareOptionsValidator : IValidateOptions<HardwareOptions>
{
    // System.Threading timers take at most 2^32-2 milliseconds.
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public ValidateOptionsResult Validate(string? name, HardwareOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // Checked here, before the silo starts, so that a typo in the path is the first and only thing reported.
        if (!string.IsNullOrEmpty(options.File) && !System.IO.File.Exists(options.File))
        {
            return ValidateOptionsResult.Fail($"--hardware-file (Hardware:File): '{options.File}' does not exist");
        }

        if (options.PollInterval <= TimeSpan.Zero || options.PollInterval > MaxPollInterval)
        {
            return ValidateOptionsResult.Fail(
                $"{HardwareOptions.SectionName}:{nameof(HardwareOptions.PollInterval)} must be positive and at most 49 days; it is {options.PollInterval}.");
        }

        return ValidateOptionsResult.Success;
    }
}
