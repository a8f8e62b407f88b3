using IsoCluster.Grains.Hosting;
using Microsoft.Extensions.Configuration;
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
    builder.Configuration.AddInMemoryCollection(commandLine.Values);
    builder.UseOrleans(silo => silo.UseIsoClusterLocalhostClustering(builder.Configuration).AddIsoClusterGrains(builder.Configuration));
    await builder.Build().RunAsync();
    return 0;
}
catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
{
    // Bad settings are the operator's to fix: say which, without a stack trace.
    await Console.Error.WriteLineAsync($"isocluster-silo: cannot start: {ex.Message}");
    return 2;
}
