using IsoCluster.Gateway.Serving;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IsoCluster.Gateway.Hosting;

/// <summary>The entry point of the gateway project: its services and its one route.</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>Registers the ISO endpoint, its grain-read retries and their validated options.</summary>
    public static IServiceCollection AddIsoGateway(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddOptions<ClusterCallOptions>().Bind(configuration.GetSection(ClusterCallOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClusterCallOptions>, ClusterCallOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<ClusterCallPolicy>();
        services.AddSingleton<IsoEndpoint>();
        return services;
    }

    /// <summary>Maps <c>/iso/{mac}/{file}</c> for every method; the endpoint answers 405 itself with an Allow header.</summary>
    public static IEndpointRouteBuilder MapIsoGateway(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map(
            "/iso/{mac}/{file}",
            (HttpContext context, string mac, string file, IsoEndpoint endpoint) => endpoint.HandleAsync(context, mac, file));
        return endpoints;
    }
}

/// <summary>Checks the <c>Gateway</c> settings at start.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options) =>
        options.MaxRanges is < 1 or > 1000
            ? ValidateOptionsResult.Fail($"--max-ranges (Gateway:MaxRanges) must be from 1 to 1000, is {options.MaxRanges}")
            : ValidateOptionsResult.Success;
}
