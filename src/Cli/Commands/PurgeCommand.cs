using System.CommandLine;
using IsoCluster.Cli.Api;
using IsoCluster.Cli.Output;

namespace IsoCluster.Cli.Commands;

/// <summary><c>isocluster purge &lt;url&gt;</c>: drops a source ISO's cached chunks in every silo.</summary>
internal static class PurgeCommand
{
    public static Command Create(CommandOptions options)
    {
        var url = new Argument<string>("url") { Description = "the source ISO whose cached chunks to drop" };
        var command = new Command("purge", "drop a source ISO's cached chunks in every silo; boots in progress fetch them again (needs the token)") { url };
        command.SetAction((parsed, cancellationToken) => options.RunAsync(parsed, needsToken: true, async client =>
        {
            var purged = await client.PostAsync<PurgeResult>("api/purge", new SourceIsoRequest(SourceIsoArgument.Resolve(parsed.GetValue(url))), cancellationToken);
            await options.Host.Output.WriteLineAsync(
                $"purged {purged.SourceIso}: {purged.ChunksPurged} chunks ({ByteCount.Format(purged.BytesPurged)}) from {purged.Silos} silo(s), " +
                $"{purged.GatewayChunksPurged} from this gateway's cache");
            return 0;
        }));
        return command;
    }
}
