using System.CommandLine;
using IsoCluster.Cli.Api;
using IsoCluster.Cli.Output;

namespace IsoCluster.Cli.Commands;

/// <summary><c>isocluster prewarm [url]</c>: fills the cluster's cache with a source ISO, showing progress until done.</summary>
internal static class PrewarmCommand
{
    public static Command Create(CommandOptions options)
    {
        var url = new Argument<string?>("url")
        {
            Description = "the source ISO (default: the server's --iso-upstream-url)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("prewarm", "fetch a source ISO into the cluster's chunk cache before machines boot from it (needs the token)") { url };
        command.SetAction((parsed, cancellationToken) => options.RunAsync(parsed, needsToken: true, client =>
            RunAsync(client, SourceIsoArgument.Resolve(parsed.GetValue(url)), options.Host, cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(AdminApiClient client, string? url, CliHost host, CancellationToken cancellationToken)
    {
        var progress = await client.PostAsync<PrewarmProgress>("api/prewarm", new SourceIsoRequest(url), cancellationToken);
        await host.Output.WriteLineAsync($"prewarm {progress.Id}: {progress.SourceIso} (version {progress.VersionId}, {ByteCount.Format(progress.IsoLength)}, {progress.ChunksTotal} chunks)");
        if (progress.Warning is { } warning)
        {
            await host.Error.WriteLineAsync($"isocluster: warning: {warning}");
        }

        var bar = new ProgressBar(host.Output, host.IsTerminal);
        while (true)
        {
            bar.Update(progress.ChunksDone, progress.ChunksTotal, $"{progress.ChunksDone}/{progress.ChunksTotal} chunks, {ByteCount.Format(progress.BytesDone)}");
            if (progress.State != "running")
            {
                break;
            }

            await Task.Delay(host.PollInterval, cancellationToken);
            progress = await client.GetAsync<PrewarmProgress>($"api/prewarm/{progress.Id}", cancellationToken);
        }

        bar.Finish();
        if (progress.State == "done")
        {
            await host.Output.WriteLineAsync($"done: {progress.SourceIso} has {progress.ChunksDone} chunks ({ByteCount.Format(progress.BytesDone)}) in the cache");
            return 0;
        }

        await host.Error.WriteLineAsync($"isocluster: prewarm {progress.State}: {progress.Error ?? "no reason given"}");
        return 1;
    }
}
