using IsoCluster.Grains.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

// A silo on its own: the gateway connects to it with --mode client. Several silos on one host form a cluster
// when each gets its own --orleans-silo-port/--orleans-gateway-port and all name the same --orleans-primary-silo-port.
const string Usage =
    "IsoCluster silo: hosts the machine, source-ISO and chunk grains.\n" +
    "Usage: dotnet run --project src/Silo -- --hardware-file <file> --iso-upstream-url <url> [flags]";

var commandLine = CommandLine.Parse(args, SiloSettings.All, ["environment", "contentRoot", "applicationName"]);
if (commandLine.HelpRequested)
{
    Console.WriteLine(CommandLine.Help(Usage, SiloSettings.All));
    return 0;
}

if (commandLine.Errors.Count > 0)
{
    await Console.Error.WriteLineAsync($"isocluster-silo: cannot start: {string.Join(Environment.NewLine, commandLine.Errors)}");
    return 2;
}

try
{
    var builder = Host.CreateApplicationBuilder([.. commandLine.PassThroughArgs]);
    LoggingDefaults.AddTo(builder.Configuration);
    builder.Configuration.AddInMemoryCollection(commandLine.Values);
    UserPaths.Resolve(builder.Configuration, SiloSettings.All, Environment.CurrentDirectory);
    builder.UseOrleans(silo => silo.UseIsoClusterLocalhostClustering(builder.Configuration).AddIsoClusterGrains(builder.Configuration));
    var host = builder.Build();

    // Settings are checked before the silo joins the cluster, so a bad flag is the only thing reported.
    host.Services.GetRequiredService<IStartupValidator>().Validate();
    await host.RunAsync();
    return 0;
}
catch (Exception ex) when (StartupErrors.Describe(ex, SiloSettings.All) is { } problems)
{
    await Console.Error.WriteLineAsync($"isocluster-silo: cannot start:{Environment.NewLine}{problems}");
    return 2;
}
