using IsoCluster.Grains.Hardware.Kubernetes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hardware;

/// <summary>Registers the Hardware source.</summary>
public static class HardwareServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Hardware source that <see cref="HardwareOptions.Source"/> names (<c>--hardware-source</c>):
    /// <see cref="HardwareFileSource"/> (the default) or <see cref="KubernetesHardwareSource"/>, as the singleton
    /// <see cref="IHardwareSource"/> and as a hosted service, so a bad file or kubeconfig fails the host's start.
    /// Bind <see cref="HardwareOptions"/> to configuration separately; its values are validated at start, and an
    /// unknown source or a flag that belongs to the other source is a startup error naming the flag.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddHardwareSource(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(HardwareSourceRegistration)))
        {
            return services;
        }

        services.AddSingleton<HardwareSourceRegistration>();
        services.AddOptions<HardwareOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HardwareOptions>, HardwareOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // Both are registered, and only the chosen one is ever created: the other's constructor never runs.
        services.TryAddSingleton<HardwareFileSource>();
        services.TryAddSingleton<KubernetesHardwareSource>();
        services.TryAddSingleton<IHardwareSource>(Selected);

        // The hosted service is the very instance lookups use; a plain Add because the factory's declared type
        // (IHostedService) would be refused by AddHostedService's TryAddEnumerable, and the marker above keeps it single.
        services.AddSingleton<IHostedService>(sp => (IHostedService)Selected(sp));
        return services;
    }

    private static IHardwareSource Selected(IServiceProvider services) =>
        services.GetRequiredService<IOptions<HardwareOptions>>().Value.UsesKubernetes
            ? services.GetRequiredService<KubernetesHardwareSource>()
            : services.GetRequiredService<HardwareFileSource>();

    /// <summary>Marks the collection as holding the Hardware registrations, so a second call adds nothing.</summary>
    private sealed class HardwareSourceRegistration;
}
