using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hardware;

/// <summary>Checks <see cref="HardwareOptions"/> at startup, reporting every problem and naming the setting.</summary>
internal sealed partial class HardwareOptionsValidator : IValidateOptions<HardwareOptions>
{
    // System.Threading timers take at most 2^32-2 milliseconds.
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public ValidateOptionsResult Validate(string? name, HardwareOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var kubernetes = options.UsesKubernetes;

        // Checked here, before the silo starts, so that a typo in the path is the first and only thing reported.
        if (!kubernetes && !string.IsNullOrEmpty(options.File) && !System.IO.File.Exists(options.File))
        {
            return ValidateOptionsResult.Fail($"--hardware-file (Hardware:File): '{options.File}' does not exist");
        }

        var failures = new List<string>();
        if (options.PollInterval <= TimeSpan.Zero || options.PollInterval > MaxPollInterval)
        {
            failures.Add(
                $"{HardwareOptions.SectionName}:{nameof(HardwareOptions.PollInterval)} must be positive and at most 49 days; it is {options.PollInterval}.");
        }

        if (!kubernetes && !string.IsNullOrWhiteSpace(options.Source) && !string.Equals(options.Source.Trim(), HardwareOptions.FileSource, StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"--hardware-source (Hardware:Source): '{options.Source}' is not a Hardware source; expected file or kubernetes");
        }
        else if (kubernetes)
        {
            ValidateKubernetes(options, failures);
        }
        else
        {
            // Either flag without --hardware-source kubernetes is almost surely a forgotten --hardware-source, which
            // would otherwise leave the process serving nothing ("no Hardware source is configured").
            if (!string.IsNullOrEmpty(options.Namespace))
            {
                failures.Add("--hardware-namespace (Hardware:Namespace) is used only with --hardware-source kubernetes");
            }

            if (!string.IsNullOrEmpty(options.Kubeconfig))
            {
                failures.Add("--kubeconfig (Hardware:Kubeconfig) is used only with --hardware-source kubernetes");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateKubernetes(HardwareOptions options, List<string> failures)
    {
        if (!string.IsNullOrEmpty(options.File))
        {
            failures.Add("--hardware-file (Hardware:File) is read only with --hardware-source file; with --hardware-source kubernetes Hardware comes from the API server");
        }

        // Namespaces are DNS-1123 labels; anything else would only ever list nothing (or be refused by the server).
        if (!string.IsNullOrEmpty(options.Namespace) && !NamespaceName().IsMatch(options.Namespace))
        {
            failures.Add($"--hardware-namespace (Hardware:Namespace): '{options.Namespace}' is not a namespace name (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)");
        }

        if (!string.IsNullOrEmpty(options.Kubeconfig) && !System.IO.File.Exists(options.Kubeconfig))
        {
            failures.Add($"--kubeconfig (Hardware:Kubeconfig): '{options.Kubeconfig}' does not exist");
        }

        if (options.RetryInitialDelay <= TimeSpan.Zero || options.RetryMaxDelay < options.RetryInitialDelay || options.RetryMaxDelay > MaxPollInterval)
        {
            failures.Add(
                $"{HardwareOptions.SectionName}:{nameof(HardwareOptions.RetryInitialDelay)} must be positive and at most {HardwareOptions.SectionName}:{nameof(HardwareOptions.RetryMaxDelay)} (at most 49 days); they are {options.RetryInitialDelay} and {options.RetryMaxDelay}.");
        }

        if (options.ListPageSize < 1)
        {
            failures.Add($"{HardwareOptions.SectionName}:{nameof(HardwareOptions.ListPageSize)} must be at least 1; it is {options.ListPageSize}.");
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex NamespaceName();
}
