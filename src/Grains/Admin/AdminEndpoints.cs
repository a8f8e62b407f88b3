using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// The admin listener's endpoints: <c>/metrics</c>, the live boot page (<c>/</c>, <c>/boots</c>), the machines API
/// (<see cref="MachinesEndpoints"/>) and the cache report (<c>/api/cache</c>). A gateway serves them
/// only on its <c>--admin-urls</c>, never to BMCs; a silo's one HTTP listener (<c>--urls</c>) is its admin listener.
/// </summary>
public static class AdminEndpoints
{
    /// <summary>Where Prometheus scrapes.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Maps <c>/metrics</c> (Prometheus text format), the machines API, <c>/api/cache</c> and the boot page, and returns
    /// the group they are in: map further admin endpoints into that group and they carry
    /// <see cref="AdminListenerOnlyMetadata"/>, so a gateway serves them on its admin listener only. The health endpoints
    /// stay outside it: both listeners serve them.
    /// </summary>
    public static RouteGroupBuilder MapIsoClusterAdmin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var admin = endpoints.MapGroup("");
        admin.WithMetadata(AdminListenerOnlyMetadata.Instance);
        admin.MapPrometheusScrapingEndpoint(MetricsPath);
        admin.MapMachinesApi();
        admin.MapCacheReport();
        admin.MapBootPage();
        return admin;
    }
}

/// <summary>Marks an endpoint that a gateway serves on its admin listener only (a 404 on the BMC listener).</summary>
public sealed class AdminListenerOnlyMetadata
{
    private AdminListenerOnlyMetadata()
    {
    }

    /// <summary>The one instance.</summary>
    public static AdminListenerOnlyMetadata Instance { get; } = new();
}
