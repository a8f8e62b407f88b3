using IsoCluster.Grains.Machines;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hosting;

/// <summary>Refuses kernel-parameter settings that GRUB would reinterpret, at start rather than at every boot.</summary>
internal sealed class BootOptionsValidator : IValidateOptions<BootOptions>
{
    public ValidateOptionsResult Validate(string? name, BootOptions options)
    {
        var problems = KernelParams.ValidateOptions(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
