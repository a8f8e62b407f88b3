using System.CommandLine;
using System.Globalization;
using IsoCluster.Cli.Api;
using IsoCluster.Cli.Output;

namespace IsoCluster.Cli.Commands;

/// <summary><c>isocluster machines</c>: one row per machine the cluster has seen booting.</summary>
internal static class MachinesCommand
{
    public static Command Create(CommandOptions options)
    {
        var state = new Option<string?>("--state") { Description = "only machines in this state: booting, finished or failed" };
        var mac = new Option<string?>("--mac") { Description = "only machines whose MAC contains this (any case, : or -)" };
        var command = new Command("machines", "machines the cluster has seen booting, with how far each has read") { state, mac };
        command.SetAction((parsed, cancellationToken) => options.RunAsync(parsed, needsToken: false, async client =>
        {
            var query = Query(("state", parsed.GetValue(state)), ("mac", parsed.GetValue(mac)));
            var list = await client.GetAsync<MachineList>("api/machines" + query, cancellationToken);
            Render(list, options.Host.Output);
            return 0;
        }));
        return command;
    }

    /// <summary>Writes <paramref name="list"/> as a table, or a line saying there is nothing to show.</summary>
    internal static void Render(MachineList list, TextWriter output)
    {
        if (list.Machines.Count == 0)
        {
            output.WriteLine("no machines");
            return;
        }

        var table = new TextTable("MAC", "STATE", "READ", "SERVED", "REQUESTS", "RATE", "LAST READ", "SOURCE ISO", "LAST ERROR");
        foreach (var machine in list.Machines)
        {
            table.Add(
                machine.Mac,
                machine.State,
                machine.IsoLength is > 0 and var length
                    ? string.Create(CultureInfo.InvariantCulture, $"{100.0 * machine.DistinctBytes / length:0}% of {ByteCount.Format(length)}")
                    : ByteCount.Format(machine.DistinctBytes),
                ByteCount.Format(machine.BytesServed),
                machine.Requests.ToString(CultureInfo.InvariantCulture),
                machine.BytesPerSecond > 0 ? ByteCount.Format(machine.BytesPerSecond) + "/s" : "-",
                Ago(list.GeneratedAt - machine.LastRead),
                machine.SourceIso ?? "-",
                machine.LastError ?? "-");
        }

        table.WriteTo(output);
    }

    private static string Ago(TimeSpan age) => age.TotalSeconds switch
    {
        < 1 => "just now",
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{age.TotalSeconds:0}s ago"),
        < 3600 => string.Create(CultureInfo.InvariantCulture, $"{age.TotalMinutes:0}m ago"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{age.TotalHours:0}h ago"),
    };

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var given = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToArray();
        return given.Length == 0 ? "" : "?" + string.Join('&', given);
    }
}
