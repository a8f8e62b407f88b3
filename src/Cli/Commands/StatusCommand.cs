using System.CommandLine;
using System.Globalization;
using System.Net;
using IsoCluster.Cli.Api;
using IsoCluster.Cli.Output;

namespace IsoCluster.Cli.Commands;

/// <summary><c>isocluster status</c>: readiness with its checks, what the chunk cache holds, and machines by state.</summary>
internal static class StatusCommand
{
    public static Command Create(CommandOptions options)
    {
        var command = new Command("status", "readiness (with each check), the cluster's chunk cache, and machines by state");
        command.SetAction((parsed, cancellationToken) => options.RunAsync(parsed, needsToken: false, client => RunAsync(client, options.Host, cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(AdminApiClient client, CliHost host, CancellationToken cancellationToken)
    {
        var output = host.Output;
        var (status, health) = await client.GetTextAsync("health/ready", cancellationToken);
        var lines = health.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        await output.WriteLineAsync($"server    {client.Server}");
        await output.WriteLineAsync($"ready     {(lines.Length > 0 ? lines[0] : ((int)status).ToString(CultureInfo.InvariantCulture))}");
        foreach (var check in lines.Skip(1))
        {
            await output.WriteLineAsync($"          {check}");
        }

        var cache = await client.GetAsync<CacheSummary>("api/cache/summary", cancellationToken);
        await output.WriteLineAsync(
            $"cache     {ByteCount.Format(cache.Bytes)} in {cache.Chunks} chunks, of {ByteCount.Format(cache.CapacityBytes)} over {Plural(cache.Silos.Count, "silo")}");
        foreach (var source in cache.Sources)
        {
            await output.WriteLineAsync($"          {source.SourceIso}: {ByteCount.Format(source.Bytes)} in {source.Chunks} chunks");
        }

        await output.WriteLineAsync($"machines  {await MachineCountsAsync(client, cancellationToken)}");

        // Not ready is worth a non-zero exit: scripts wait on it.
        return status == HttpStatusCode.OK ? 0 : 1;
    }

    private static async Task<string> MachineCountsAsync(AdminApiClient client, CancellationToken cancellationToken)
    {
        MachineList list;
        try
        {
            list = await client.GetAsync<MachineList>("api/machines", cancellationToken);
        }
        catch (AdminApiException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            return "unknown: this server has no /api/machines";
        }

        if (list.Machines.Count == 0)
        {
            return "none seen yet";
        }

        var counts = list.Machines
            .GroupBy(machine => machine.State, StringComparer.Ordinal)
            .OrderBy(group => group.Key, StringComparer.Ordinal)
            .Select(group => $"{group.Count()} {group.Key}");
        return $"{list.Machines.Count} ({string.Join(", ", counts)})";
    }

    private static string Plural(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
