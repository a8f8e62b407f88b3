using IsoCluster.Gateway.Hosting;
using IsoCluster.Grains.Hosting;
using Microsoft.Extensions.Options;

if (CommandLine.Parse(args, GatewaySettings.All, GatewaySettings.HostFlags).HelpRequested)
{
    Console.WriteLine(CommandLine.Help(GatewaySettings.Usage, GatewaySettings.All));
    return 0;
}

try
{
    var app = GatewayApplication.Create(args);
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (ex is SettingsException or OptionsValidationException or InvalidOperationException)
{
    // Bad settings are the operator's to fix: say which, without a stack trace.
    await Console.Error.WriteLineAsync($"isocluster-gateway: cannot start: {ex.Message}");
    return 2;
}
