using System.CommandLine;
using IsoCluster.Cli.Api;
using IsoCluster.Cli.Commands;

namespace IsoCluster.Cli;

/// <summary>
/// The <c>isocluster</c> command line: the admin API of a gateway or silo, from a shell. Exit codes: 0 done, 1 the call
/// failed (the server's reason on stderr), 2 the command line itself is wrong.
/// </summary>
public static class IsoClusterCli
{
    /// <summary>The admin listener a gateway opens by default (<c>--admin-urls</c>).</summary>
    public const string DefaultServer = "http://127.0.0.1:7081";

    /// <summary>The environment variable that replaces <see cref="DefaultServer"/>.</summary>
    public const string ServerVariable = "ISOCLUSTER_ADMIN_URL";

    /// <summary>The environment variable naming the token file when <c>--token-file</c> is not given.</summary>
    public const string TokenFileVariable = "ISOCLUSTER_TOKEN_FILE";

    /// <summary>Parses <paramref name="args"/> and runs the command against <paramref name="host"/>.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, CliHost host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(host);
        var root = Build(host);
        var parsed = root.Parse(args);
        var configuration = new InvocationConfiguration { Output = host.Output, Error = host.Error };

        // System.CommandLine answers usage errors with help and exit code 1; a script needs to tell them from a failed call.
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await host.Error.WriteLineAsync($"isocluster: {error.Message}");
            }

            await host.Error.WriteLineAsync("Run 'isocluster --help' for the commands and options.");
            return 2;
        }

        return await parsed.InvokeAsync(configuration, cancellationToken);
    }

    private static RootCommand Build(CliHost host)
    {
        var server = new Option<Uri>("--server", "-s")
        {
            Description = $"the admin listener: a gateway's --admin-urls or a silo's --urls (env {ServerVariable}; default {DefaultServer})",
            Recursive = true,
            CustomParser = result => ParseServer(result.Tokens.Count > 0 ? result.Tokens[0].Value : null, result.AddError),
            DefaultValueFactory = result => ParseServer(host.Variable(ServerVariable) is { Length: > 0 } fromEnv ? fromEnv : DefaultServer, result.AddError),
        };
        var tokenFile = new Option<FileInfo?>("--token-file")
        {
            Description = $"file holding the admin token, for prewarm and purge (env {TokenFileVariable})",
            Recursive = true,
            DefaultValueFactory = _ => host.Variable(TokenFileVariable) is { Length: > 0 } path ? new FileInfo(path) : null,
        };

        var options = new CommandOptions(host, server, tokenFile);
        var root = new RootCommand("isocluster: the IsoCluster admin API from a shell (health, cache, machines, prewarm, purge, explain).")
        {
            server,
            tokenFile,
            StatusCommand.Create(options),
            MachinesCommand.Create(options),
            PrewarmCommand.Create(options),
            PurgeCommand.Create(options),
            ExplainCommand.Create(options),
        };
        return root;
    }

    private static Uri ParseServer(string? text, Action<string> addError)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            // A base address without its trailing slash would drop its last path segment from every call.
            return uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri + "/");
        }

        addError($"--server '{text}' is not an http:// or https:// URL");
        return new Uri(DefaultServer);
    }
}

/// <summary>What every command needs: the host and the shared options.</summary>
internal sealed record CommandOptions(CliHost Host, Option<Uri> Server, Option<FileInfo?> TokenFile)
{
    /// <summary>
    /// Runs <paramref name="call"/> against the server <paramref name="parsed"/> names, turning a failed call into one
    /// line on stderr and exit code 1.
    /// </summary>
    public async Task<int> RunAsync(ParseResult parsed, bool needsToken, Func<AdminApiClient, Task<int>> call)
    {
        string? token = null;
        if (needsToken && parsed.GetValue(TokenFile) is { } file)
        {
            try
            {
                token = (await File.ReadAllTextAsync(file.FullName)).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Host.Error.WriteLineAsync($"isocluster: cannot read --token-file '{file.FullName}': {ex.Message}");
                return 1;
            }
        }

        using var client = new AdminApiClient(parsed.GetValue(Server)!, token);
        try
        {
            return await call(client);
        }
        catch (AdminApiException ex)
        {
            await Host.Error.WriteLineAsync($"isocluster: {ex.Message}");
            return 1;
        }
    }
}
