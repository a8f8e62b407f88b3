using System.CommandLine;
using System.Globalization;
using System.Net;
using IsoCluster.Cli.Api;
using IsoCluster.Cli.Output;

namespace IsoCluster.Cli.Commands;

/// <summary><c>isocluster status</c>: readiness with its checks, what the chunk cache holds, and machines by state.</summary>
internal static class StatusCommand
{
    // The machines API's states, in the order a boot goes through them.
    private static readonly string[] States = ["booting", "finished", "failed"];

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

        var cache = await client.GetAsync<CacheReport>("api/cache", cancellationToken);
        var answered = cache.Silos.Where(silo => silo.Error is null).ToArray();
        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"cache     {ByteCount.Format(answered.Sum(s => s.CachedBytes))} in {Plural(answered.Sum(s => s.Chunks), "chunk")}, of {ByteCount.Format(answered.Sum(s => s.BudgetBytes))} over {Plural(answered.Length, "silo")}"));
        foreach (var version in cache.Sources)
        {
            await output.WriteLineAsync($"          {VersionLine(version)}");
        }

        foreach (var silo in cache.Silos.Where(silo => silo.Error is not null))
        {
            await output.WriteLineAsync($"          silo {silo.Silo} did not answer: {silo.Error}");
        }

        var machines = await client.GetAsync<MachineList>("api/machines", cancellationToken);
        await output.WriteLineAsync($"machines  {MachineCounts(machines)}");

        // Not ready is worth a non-zero exit: scripts wait on it.
        return status == HttpStatusCode.OK ? 0 : 1;
    }

    /// <summary>One source ISO version's line: what the silos hold of it and how reads of it were answered.</summary>
    internal static string VersionLine(VersionCache version)
    {
        var share = version.IsoLength > 0
            ? string.Create(CultureInfo.InvariantCulture, $" ({100.0 * version.CachedBytes / version.IsoLength:0}% of {ByteCount.Format(version.IsoLength)})")
            : "";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{version.SourceIso} version {version.VersionId}: {ByteCount.Format(version.CachedBytes)} in {Plural(version.Chunks, "chunk")}{share}; {Plural(version.Hits, "hit")}, {Plural(version.Misses, "miss")}");
    }

    /// <summary>How many machines are in each state, every state named even when none is in it.</summary>
    internal static string MachineCounts(MachineList list)
    {
        if (list.Machines.Count == 0)
        {
            return "none seen yet";
        }

        var counts = States.Select(state => $"{list.Machines.Count(machine => machine.State == state)} {state}");
        var other = list.Machines.Count(machine => !States.Contains(machine.State, StringComparer.Ordinal));

        // A newer server may report a state this CLI does not know; it is counted rather than lost.
        return $"{list.Machines.Count}: {string.Join(", ", counts)}{(other > 0 ? $", {other} other" : "")}";
    }

    private static string Plural(long count, string noun) =>
        count == 1 ? $"1 {noun}" : string.Create(CultureInfo.InvariantCulture, $"{count} {noun}{(noun.EndsWith('s') ? "es" : "s")}");
}
