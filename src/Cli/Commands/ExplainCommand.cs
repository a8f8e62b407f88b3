using System.CommandLine;
using IsoCluster.Cli.Api;
using IsoCluster.Cli.Output;

namespace IsoCluster.Cli.Commands;

/// <summary><c>isocluster explain &lt;mac&gt;</c>: the kernel command line a machine gets, token by token with its origin.</summary>
internal static class ExplainCommand
{
    public static Command Create(CommandOptions options)
    {
        var mac = new Argument<string>("mac") { Description = "the machine's MAC, e.g. b4:96:91:6e:2c:20" };
        var command = new Command("explain", "the exact kernel command line a machine gets, and where each part of it comes from") { mac };
        command.SetAction((parsed, cancellationToken) => options.RunAsync(parsed, needsToken: false, async client =>
        {
            var explanation = await client.GetAsync<Explanation>($"api/explain/{Uri.EscapeDataString(parsed.GetValue(mac)!)}", cancellationToken);
            return await RenderAsync(explanation, options.Host);
        }));
        return command;
    }

    private static async Task<int> RenderAsync(Explanation explanation, CliHost host)
    {
        var output = host.Output;
        await output.WriteLineAsync($"mac          {explanation.Mac}");
        await output.WriteLineAsync($"hardware     {explanation.Hardware}");
        await output.WriteLineAsync($"source ISO   {explanation.SourceIso ?? "none"} (from {explanation.SourceIsoFrom})");
        if (explanation.KernelCommandLine is { } line)
        {
            await output.WriteLineAsync($"command line {line.Length} of {explanation.MagicStringLength} bytes, padded with spaces:");
            await output.WriteLineAsync(line);
        }

        await output.WriteLineAsync();
        var table = new TextTable("PART", "FROM", "SETTING");
        foreach (var part in explanation.Parts)
        {
            table.Add(part.Text, part.From, part.Setting);
        }

        table.WriteTo(output);
        if (explanation.Error is { } error)
        {
            await host.Error.WriteLineAsync($"isocluster: {explanation.Mac} cannot boot: {error}");
            return 1;
        }

        return 0;
    }
}
