using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Health;

/// <summary>Which process the health endpoints describe; each is ready for a different reason.</summary>
public enum HealthRole
{
    /// <summary>A silo on its own: ready once it is an active member with its Hardware loaded.</summary>
    Silo = 0,

    /// <summary>A gateway hosting its own silo: ready once that silo answers with its Hardware loaded.</summary>
    EmbeddedGateway = 1,

    /// <summary>A gateway that joins the cluster as a client: ready once a silo answers; it may start before any silo.</summary>
    ClientGateway = 2,
}

/// <summary>
/// <c>/health/live</c>, <c>/health/ready</c> and <c>/health/startup</c> for Kubernetes probes and load balancers, and
/// the SIGTERM behaviour that goes with them (not-ready first, then a bounded drain).
/// </summary>
public static class HealthEndpoints
{
    private const string LiveTag = "live";
    private const string ReadyTag = "ready";
    private const string StartupTag = "startup";

    /// <summary>Registers the checks for <paramref name="role"/> and the shutdown options (section <c>Host</c>).</summary>
    public static IServiceCollection AddIsoClusterHealth(this IServiceCollection services, IConfiguration configuration, HealthRole role)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ShutdownOptions>()
            .Bind(configuration.GetSection(ShutdownOptions.SectionName))
            .Validate(o => o.ShutdownDelay >= TimeSpan.Zero, "--shutdown-delay (Host:ShutdownDelay) must not be negative")
            .Validate(o => o.DrainTimeout > TimeSpan.Zero, "--drain-timeout (Host:DrainTimeout) must be positive")
            .ValidateOnStart();
        services.AddSingleton<ShutdownDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        services.AddOptions<HostOptions>().Configure<IOptions<ShutdownOptions>>((host, shutdown) =>
        {
            host.ShutdownTimeout = shutdown.Value.ShutdownDelay + shutdown.Value.DrainTimeout;

            // A client gateway waits for its first silo inside the Orleans client's start; starting the web server
            // alongside lets it answer probes (not ready) meanwhile instead of refusing connections.
            host.ServicesStartConcurrently = role == HealthRole.ClientGateway;
        });

        // Liveness has no check of its own on purpose: a process that can run its request pipeline is alive, and a
        // wedged one fails the probe by not answering. Restarting a process because the cluster or the Hardware source
        // is away would only make things worse; readiness covers those.
        var checks = services.AddHealthChecks();
        if (role == HealthRole.Silo)
        {
            checks.AddCheck<SiloReadinessCheck>("silo", tags: [ReadyTag]);
        }
        else
        {
            checks.AddCheck<ClusterReadinessCheck>("cluster", tags: [ReadyTag]);
        }

        if (role != HealthRole.ClientGateway)
        {
            checks.AddCheck<HostStartedCheck>("started", tags: [StartupTag]);
        }

        return services;
    }

    /// <summary>
    /// Maps the three endpoints; each answers 200 or 503 with the overall status and, where
    /// <paramref name="showsChecks"/> allows it (everywhere when null), one line per check.
    /// </summary>
    /// <param name="endpoints">Where to map them.</param>
    /// <param name="showsChecks">
    /// Whether a request may see each check's description. A check's description can name a Hardware file or an
    /// exception: an operator's business, not a BMC's. A gateway shows them on its admin listener only; its BMC listener
    /// answers a load balancer's probe with the status line alone.
    /// </param>
    public static IEndpointRouteBuilder MapIsoClusterHealth(this IEndpointRouteBuilder endpoints, Func<HttpContext, bool>? showsChecks = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks("/health/live", Options(LiveTag, showsChecks));
        endpoints.MapHealthChecks("/health/ready", Options(ReadyTag, showsChecks));
        endpoints.MapHealthChecks("/health/startup", Options(StartupTag, showsChecks));
        return endpoints;
    }

    private static HealthCheckOptions Options(string tag, Func<HttpContext, bool>? showsChecks) => new()
    {
        Predicate = registration => registration.Tags.Contains(tag),
        ResponseWriter = (context, report) => WriteAsync(context, report, showsChecks?.Invoke(context) ?? true),
    };

    private static Task WriteAsync(HttpContext context, HealthReport report, bool showsChecks)
    {
        var text = new StringBuilder(report.Status.ToString());
        if (showsChecks)
        {
            foreach (var (name, entry) in report.Entries)
            {
                text.Append('\n').Append(name).Append(": ").Append(entry.Status).Append(": ").Append(entry.Description);
            }
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.Append('\n').ToString(), context.RequestAborted);
    }
}
