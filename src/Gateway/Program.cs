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

    // Settings are checked before anything starts listening, so a bad flag is the only thing reported.
    app.Services.GetRequiredService<IStartupValidator>().Validate();
    await app.RunAsync();
    return 0;
}
catch (SettingsException ex)
{
    await Console.Error.WriteLineAsync($"isocluster-gateway: cannot start:{Environment.NewLine}{ex.Message}");
    return 2;
}
catch (Exception ex) when (StartupErrors.Describe(ex, GatewaySettings.All) is { } problems)
{
    await Console.Error.WriteLineAsync($"isocluster-gateway: cannot start:{Environment.NewLine}{problems}");
    return 2;
}
