using Microsoft.AspNetCore.Connections;
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
    private const long ResponseBufferSize = 320 * 1024;

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

        // Three measured transport settings (64 KiB range reads from cache, wrk with 64 and 256 connections):
        // - Kestrel's socket transport holds at most 64 KiB of output before a flush waits, so every 64 KiB read (its
        //   headers on top) waited for the socket and left several task objects behind. Room for a 256 KiB read and its
        //   headers lets a flush return at once; a connection still holds only the one response its BMC is reading.
        // - Requests run on the socket's own I/O thread instead of hopping to the thread pool: about 10 % more requests
        //   per second. That is safe only for code that never blocks a thread, which the serving path does not: every
        //   wait in it (grain calls, upstream reads, flushes) is asynchronous.
        // - 64 KiB memory blocks instead of 4 KiB ones (LargeBlockMemoryPoolFactory): 9-30 % less CPU per request.
        builder.WebHost.UseSockets(sockets =>
        {
            sockets.MaxWriteBufferSize = ResponseBufferSize;
            sockets.UnsafePreferInlineScheduling = true;
        });

        GatewayListeners.AddTo(builder);
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
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
