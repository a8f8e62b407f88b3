using IsoCluster.Grains.Admin;
using IsoCluster.Grains.Health;
using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.Telemetry;
using IsoCluster.Silo;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;

// A silo on its own; gateways join it with --mode client. Its one HTTP listener (--urls) is its admin listener: the health
// endpoints, /metrics, the boot page and the admin API.
var commandLine = CommandLine.Parse(args, SiloProgramSettings.All, SiloProgramSettings.HostFlags);
if (commandLine.HelpRequested)
{
    Console.WriteLine(CommandLine.Help(SiloProgramSettings.Usage, SiloProgramSettings.All));
    return 0;
}

if (commandLine.Errors.Count > 0)
{
    await Console.Error.WriteLineAsync($"isocluster-silo: cannot start: {string.Join(Environment.NewLine, commandLine.Errors)}");
    return 2;
}

try
{
    var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [.. commandLine.PassThroughArgs] });
    LoggingDefaults.AddTo(builder.Configuration);
    builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = SiloProgramSettings.Defaults });
    builder.Configuration.AddInMemoryCollection(commandLine.Values);
    UserPaths.Resolve(builder.Configuration, SiloProgramSettings.All, Environment.CurrentDirectory);
    builder.UseOrleans(silo => silo.UseIsoClusterClustering(builder.Configuration).AddIsoClusterGrains(builder.Configuration).AddIsoClusterTracing(builder.Configuration));
    builder.Services.AddIsoClusterHealth(builder.Configuration, HealthRole.Silo);
    builder.Services.AddIsoClusterTelemetry(builder.Configuration, "isocluster-silo");
    builder.Services.AddIsoClusterAdmin(builder.Configuration);
    var app = builder.Build();
    app.MapIsoClusterHealth();
    app.MapIsoClusterAdmin();

    // Settings are checked before the silo joins the cluster, so a bad flag is the only thing reported.
    app.Services.GetRequiredService<IStartupValidator>().Validate();
    SiloLog.Starting(app.Logger, app.Configuration);
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (StartupErrors.Describe(ex, SiloProgramSettings.All) is { } problems)
{
    await Console.Error.WriteLineAsync($"isocluster-silo: cannot start:{Environment.NewLine}{problems}");
    return 2;
}
