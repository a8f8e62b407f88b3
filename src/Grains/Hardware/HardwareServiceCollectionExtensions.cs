using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hardware;

/// <summary>Registers the Hardware source.</summary>
public static class HardwareServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="HardwareFileSource"/> as the singleton <see cref="IHardwareSource"/> and as a hosted
    /// service, so a missing or invalid file fails the host's start. Bind <see cref="HardwareOptions"/> to
    /// configuration separately; its values are validated at start.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddHardwareFileSource(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<HardwareOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HardwareOptions>, HardwareOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HardwareFileSource>();
        services.TryAddSingleton<IHardwareSource>(sp => sp.GetRequiredService<HardwareFileSource>());
        services.AddHostedService(sp => sp.GetRequiredService<HardwareFileSource>());
        return services;
    }
}
