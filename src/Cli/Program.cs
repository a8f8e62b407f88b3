using IsoCluster.Cli;

return await IsoClusterCli.RunAsync(args, CliHost.FromConsole());
