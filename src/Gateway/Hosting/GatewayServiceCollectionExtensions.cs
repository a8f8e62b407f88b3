using IsoCluster.Gateway.Caching;
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
        services.AddSingleton<BootPlanCache>();
        services.AddSingleton<ChunkNearCache>();
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
    // The plan refresh keeps a machine's version pin alive, so the maximum age stays well inside a boot session's idle time.
    private static readonly TimeSpan LongestPlanMaxAge = TimeSpan.FromMinutes(1);

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var failures = new List<string>();
        if (options.MaxRanges is < 1 or > 1000)
        {
            failures.Add($"--max-ranges (Gateway:MaxRanges) must be from 1 to 1000, is {options.MaxRanges}");
        }

        if (options.CacheSize.Bytes < 0)
        {
            failures.Add($"--gateway-cache-size (Gateway:CacheSize) must not be negative, is {options.CacheSize}");
        }

        if (options.BootPlanMaxAge <= TimeSpan.Zero || options.BootPlanMaxAge > LongestPlanMaxAge)
        {
            failures.Add($"--gateway-plan-max-age (Gateway:BootPlanMaxAge) must be above 0 and at most {LongestPlanMaxAge}, is {options.BootPlanMaxAge}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
