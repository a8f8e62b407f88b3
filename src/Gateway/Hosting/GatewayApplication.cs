using IsoCluster.Gateway.Admin;
using IsoCluster.Gateway.Serving;
using IsoCluster.Grains.Admin;
using IsoCluster.Grains.Health;
using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.Telemetry;

namespace IsoCluster.Gateway.Hosting;

/// <summary>Builds the gateway application from command-line arguments; shared by Program and the end-to-end tests.</summary>
public static class GatewayApplication
{
    /// <summary>
    /// Parses <paramref name="args"/> and builds the application. Throws <see cref="SettingsException"/> naming
    /// every bad flag; invalid option values surface when the host starts.
    /// </summary>
    public static WebApplication Create(IReadOnlyList<string> args, Action<WebApplicationBuilder>? configure = null)
    {
        var commandLine = CommandLine.Parse(args, GatewaySettings.All, GatewaySettings.HostFlags);
        if (commandLine.Errors.Count > 0)
        {
            throw new SettingsException(commandLine.Errors);
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. commandLine.PassThroughArgs] });
        LoggingDefaults.AddTo(builder.Configuration);
        RequestLimits.AddTo(builder);
        builder.Configuration.AddInMemoryCollection(commandLine.Values);
        UserPaths.Resolve(builder.Configuration, GatewaySettings.All, Environment.CurrentDirectory);
        var configuration = builder.Configuration;

        var modeText = configuration[$"{GatewayOptions.SectionName}:{nameof(GatewayOptions.Mode)}"];
        var mode = GatewayMode.Embedded;
        if (!string.IsNullOrEmpty(modeText) && !Enum.TryParse(modeText, ignoreCase: true, out mode))
        {
            throw new SettingsException([$"--mode (Gateway:Mode) must be embedded or client, not '{modeText}'"]);
        }

        var tlsProblems = builder.AddGatewayTls(configuration);
        if (tlsProblems.Count > 0)
        {
            throw new SettingsException(tlsProblems);
        }

        if (mode == GatewayMode.Embedded)
        {
            builder.UseOrleans(silo => silo.UseIsoClusterClustering(configuration).AddIsoClusterGrains(configuration).AddIsoClusterTracing(configuration));
        }
        else
        {
            builder.UseOrleansClient(client => client.UseIsoClusterClustering(configuration).AddIsoClusterSerialization().AddIsoClusterTracing(configuration));
        }

        ServingTransport.AddTo(builder);
        GatewayListeners.AddTo(builder);
        builder.Services.AddIsoGateway(configuration);
        builder.Services.AddIsoClusterHealth(configuration, mode == GatewayMode.Embedded ? HealthRole.EmbeddedGateway : HealthRole.ClientGateway);
        builder.Services.AddIsoClusterTelemetry(configuration, "isocluster-gateway");
        builder.Services.AddIsoClusterAdmin(configuration);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseAdminListener();
        app.UseIsoGateway();
        app.MapIsoClusterHealth(showsChecks: GatewayListeners.IsAdmin);
        app.MapIsoClusterAdmin();
        return app;
    }
}

/// <summary>Settings that keep the gateway from starting, each naming the flag.</summary>
public sealed class SettingsException : Exception
{
    /// <summary>Creates the exception from one message per problem.</summary>
    public SettingsException(IReadOnlyList<string> problems)
        : base(string.Join(Environment.NewLine, problems)) => Problems = problems;

    /// <summary>One message per problem.</summary>
    public IReadOnlyList<string> Problems { get; }
}
