using System.Net;
using System.Net.Sockets;
using IsoCluster.Grains.Admin;
using Microsoft.AspNetCore.Routing.Matching;
using Microsoft.AspNetCore.Server.Kestrel;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IsoCluster.Gateway.Admin;

/// <summary>
/// The gateway's two listeners: the BMC listener (<c>--urls</c>: <c>/iso/...</c> and health) and the admin listener
/// (<c>--admin-urls</c>: <c>/metrics</c>, later the boot page and the admin API, and health).
/// </summary>
/// <remarks>
/// <para>
/// Both address lists become Kestrel endpoints in configuration (<c>Kestrel:Endpoints</c>), so Kestrel parses them exactly
/// as it parses <c>--urls</c> (localhost, <c>*</c>, IPv6, port 0, https with the default certificate of
/// <c>--tls-cert-file</c>), and every admin endpoint gets a connection middleware that puts
/// <see cref="IAdminListenerFeature"/> on its connections. A request then asks its connection which listener it came
/// through. Comparing the connection's local address with the bound addresses instead would break on port 0 (resolved
/// only at bind time), on wildcard addresses, and on one port bound on two addresses for the two listeners.
/// </para>
/// <para>
/// Endpoints an operator configured under <c>Kestrel:Endpoints</c> replace <c>--urls</c> as before and serve BMCs.
/// </para>
/// </remarks>
internal sealed class GatewayListeners
{
    /// <summary>The configuration key of <c>--admin-urls</c>.</summary>
    public const string AdminUrlsKey = "Gateway:AdminUrls";

    /// <summary>
    /// Loopback: the listener is for the operator's tools and Prometheus, and what it will show (machines, boots) is
    /// nobody else's business; a deployment opens it on the pod address (deploy/) and keeps it off the BMC-facing Service.
    /// </summary>
    public const string DefaultAdminUrls = "http://127.0.0.1:7081";

    // ASP.NET Core's own default when neither urls nor http(s)_ports is set.
    private const string DefaultUrls = "http://localhost:5000";
    private const string EndpointsSection = "Kestrel:Endpoints";
    private const string BmcEndpoint = "IsoClusterBmc";
    private const string AdminEndpoint = "IsoClusterAdmin";

    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, EndpointConfiguration> _admin = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, EndpointConfiguration> _bmc = new(StringComparer.Ordinal);

    private GatewayListeners()
    {
    }

    /// <summary>Where the admin listener listens, once the server has started (port 0 resolved).</summary>
    public IReadOnlyList<string> AdminAddresses => Addresses(_admin);

    /// <summary>Where the BMC listener listens, once the server has started; empty when <c>Kestrel:Endpoints</c> replaced it.</summary>
    public IReadOnlyList<string> BmcAddresses => Addresses(_bmc);

    /// <summary>
    /// Turns <c>--urls</c> and <c>--admin-urls</c> into Kestrel endpoints, marks the admin ones, and registers the routing
    /// policy that keeps admin endpoints off the BMC listener. Call before the application is built.
    /// </summary>
    public static GatewayListeners AddTo(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var listeners = new GatewayListeners();
        var endpoints = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var bmcUrls = configuration.GetSection(EndpointsSection).GetChildren().Any() ? [] : Split(BmcUrls(configuration));
        for (var i = 0; i < bmcUrls.Length; i++)
        {
            endpoints[$"{EndpointsSection}:{BmcEndpoint}{i}:Url"] = bmcUrls[i];
        }

        var adminUrls = Split(configuration[AdminUrlsKey] ?? DefaultAdminUrls);
        for (var i = 0; i < adminUrls.Length; i++)
        {
            endpoints[$"{EndpointsSection}:{AdminEndpoint}{i}:Url"] = adminUrls[i];
        }

        // The endpoints above carry these addresses now; left in place, the host would hand them to Kestrel too, which
        // ignores them beside configured endpoints with a warning at every start.
        endpoints["urls"] = "";
        endpoints["http_ports"] = "";
        endpoints["https_ports"] = "";
        configuration.AddInMemoryCollection(endpoints);

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var loader = kestrel.ConfigurationLoader ?? kestrel.Configure(context.Configuration.GetSection("Kestrel"), reloadOnChange: true);
            for (var i = 0; i < bmcUrls.Length; i++)
            {
                var name = $"{BmcEndpoint}{i}";
                loader.Endpoint(name, endpoint => listeners.Remember(listeners._bmc, name, endpoint));
            }

            for (var i = 0; i < adminUrls.Length; i++)
            {
                var name = $"{AdminEndpoint}{i}";
                loader.Endpoint(name, endpoint =>
                {
                    listeners.Remember(listeners._admin, name, endpoint);
                    endpoint.ListenOptions.Use(next => connection =>
                    {
                        connection.Features.Set(AdminListenerFeature.Instance);
                        return next(connection);
                    });
                });
            }
        });

        builder.Services.AddSingleton(listeners);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, AdminListenerPolicy>());
        return listeners;
    }

    /// <summary>Whether <paramref name="context"/> came through the admin listener.</summary>
    public static bool IsAdmin(HttpContext context) => context.Features.Get<IAdminListenerFeature>() is not null;

    // What the host would have bound without the admin listener: urls, else ASPNETCORE_HTTP(S)_PORTS, else its default.
    private static string BmcUrls(ConfigurationManager configuration)
    {
        if (configuration["urls"] is { Length: > 0 } urls)
        {
            return urls;
        }

        var ports = Split(configuration["http_ports"]).Select(port => $"http://*:{port}")
            .Concat(Split(configuration["https_ports"]).Select(port => $"https://*:{port}"))
            .ToArray();
        return ports.Length > 0 ? string.Join(';', ports) : DefaultUrls;
    }

    private static string[] Split(string? urls) =>
        urls?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    private static string Address(EndpointConfiguration endpoint)
    {
        var scheme = endpoint.IsHttps ? "https" : "http";
        return endpoint.ListenOptions.EndPoint switch
        {
            IPEndPoint ip => $"{scheme}://{ip}",
            UnixDomainSocketEndPoint unix => $"{scheme}://unix:{unix}",
            var other => $"{scheme}://{other}",
        };
    }

    // Kestrel calls back again when its configuration reloads; the newest endpoint of a name is the bound one.
    private void Remember(SortedDictionary<string, EndpointConfiguration> endpoints, string name, EndpointConfiguration endpoint)
    {
        lock (_lock)
        {
            endpoints[name] = endpoint;
        }
    }

    private string[] Addresses(SortedDictionary<string, EndpointConfiguration> endpoints)
    {
        lock (_lock)
        {
            return [.. endpoints.Values.Select(Address)];
        }
    }
}

/// <summary>Present on the connections of the admin listener (<c>--admin-urls</c>).</summary>
internal interface IAdminListenerFeature;

/// <summary>The one value of <see cref="IAdminListenerFeature"/>: it carries nothing but its presence.</summary>
internal sealed class AdminListenerFeature : IAdminListenerFeature
{
    private AdminListenerFeature()
    {
    }

    public static IAdminListenerFeature Instance { get; } = new AdminListenerFeature();
}

/// <summary>
/// Routing sees endpoints marked <see cref="AdminListenerOnlyMetadata"/> only on admin connections, so on the BMC listener
/// they do not exist (404) and a BMC can never reach the page, the API or the metrics.
/// </summary>
internal sealed class AdminListenerPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    public override int Order => 0;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<AdminListenerOnlyMetadata>() is not null)
            {
                return true;
            }
        }

        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (!GatewayListeners.IsAdmin(httpContext))
        {
            for (var i = 0; i < candidates.Count; i++)
            {
                if (candidates[i].Endpoint.Metadata.GetMetadata<AdminListenerOnlyMetadata>() is not null)
                {
                    candidates.SetValidity(i, false);
                }
            }
        }

        return Task.CompletedTask;
    }
}
