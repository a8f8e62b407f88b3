using IsoCluster.Gateway.BootReports;
using IsoCluster.Gateway.Caching;
using IsoCluster.Gateway.Ranges;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.Admin;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IsoCluster.Gateway.Hosting;

/// <summary>The entry point of the gateway project: its services and its one middleware.</summary>
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
        services.AddSingleton<IGatewayChunkCache>(sp => sp.GetRequiredService<ChunkNearCache>());
        services.AddSingleton<ContentRangeCache>();
        services.AddSingleton<RequestAdmission>();
        services.AddSingleton<BootReadTracker>();
        services.AddHostedService(provider => provider.GetRequiredService<BootReadTracker>());
        services.AddSingleton<IsoEndpoint>();
        return services;
    }

    /// <summary>
    /// Serves every path under <c>/iso/</c> (<see cref="IsoEndpoint"/> answers other methods with 405 and other shapes
    /// with 404 itself); everything else goes on to routing's endpoints.
    /// </summary>
    /// <remarks>
    /// A middleware rather than a routed endpoint, measured: a route template with <c>{mac}</c> and <c>{file}</c> makes a
    /// route value dictionary and two strings per request, and an endpoint whose delegate takes a service opens a
    /// dependency-injection scope per request; together about half a KiB of garbage per 64 KiB range read.
    /// </remarks>
    public static IApplicationBuilder UseIsoGateway(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var endpoint = app.ApplicationServices.GetRequiredService<IsoEndpoint>();
        return app.Use((context, next) =>
            context.Request.Path.StartsWithSegments(IsoEndpoint.PathPrefix, StringComparison.Ordinal) ? endpoint.HandleAsync(context) : next(context));
    }
}

/// <summary>Checks the <c>Gateway</c> settings at start.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    // The plan refresh keeps a machine's version pin alive, so the maximum age stays well inside a boot session's idle time.
    private static readonly TimeSpan LongestPlanMaxAge = TimeSpan.FromMinutes(1);

    // A bound, not a target: past about this many responses in flight their write buffers alone (320 KiB each) would
    // outgrow any host, so a larger value means the setting was mistyped or misunderstood.
    private const int MostConcurrentRequests = 100_000;

    // Each fetch in flight holds a chunk (1 MiB by default) in the network buffers of a silo and of this gateway.
    private const int MostChunkFetches = 4096;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var failures = new List<string>();
        if (options.MaxRanges is < 1 or > 1000)
        {
            failures.Add($"--max-ranges (Gateway:MaxRanges) must be from 1 to 1000, is {options.MaxRanges}");
        }

        if (options.MaxConcurrentRequests is < 1 or > MostConcurrentRequests)
        {
            failures.Add($"--max-concurrent-requests (Gateway:MaxConcurrentRequests) must be from 1 to {MostConcurrentRequests}, is {options.MaxConcurrentRequests}");
        }

        if (options.MaxChunkFetches is < 1 or > MostChunkFetches)
        {
            failures.Add($"--gateway-max-chunk-fetches (Gateway:MaxChunkFetches) must be from 1 to {MostChunkFetches}, is {options.MaxChunkFetches}");
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
