using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace IsoCluster.FleetBoot;

/// <summary>
/// The <c>run</c> command: one pass of a fleet boot. Every client boots at once, each as its own machine, and reads
/// the whole ISO once; the pass ends when all are done or at the deadline.
/// </summary>
internal static class FleetBootPass
{
    /// <summary>The names <c>run</c> accepts.</summary>
    public static readonly string[] Arguments = ["label", "url", "source", "machines", "clients", "piece-kib", "time-limit-s", "patched", "read-mib"];

    /// <summary>Runs the pass and prints its report; 0 when every request was answered right, 1 otherwise.</summary>
    public static async Task<int> RunAsync(CommandArgs args)
    {
        var label = args.Required("label");
        var urlTemplate = args.Required("url");
        var clientCount = args.Integer("clients", 32, 1, FleetMachine.MaxCount);
        var pieceSize = args.Integer("piece-kib", 64, 1, 16 * 1024) * 1024;
        var timeLimit = TimeSpan.FromSeconds(args.Integer("time-limit-s", 120, 1, 3600));
        var patched = args.Flag("patched");
        var readMib = args.Integer("read-mib", 0, 0, 1024 * 1024);
        var machines = FleetMachine.ReadList(args.Required("machines"));
        if (machines.Count < clientCount)
        {
            throw new ArgumentException($"--machines lists {machines.Count} machines, fewer than --clients {clientCount}");
        }

        var source = SourceImage.Load(args.Required("source"));

        // --read-mib N: every client reads only the ISO's first N MiB (a stampede of boots that all start at once).
        var readLength = readMib == 0 ? source.Bytes.Length : Math.Min(source.Bytes.Length, readMib * 1024L * 1024);
        using var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
            UseCookies = false,
            MaxConnectionsPerServer = int.MaxValue,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };

        // Each client waits for one response at a time, so the pool settles at one keep-alive connection per client.
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var clients = machines.Take(clientCount)
            .Select(machine => new BootClient(
                http,
                new Uri(urlTemplate.Replace("{mac}", machine.Mac, StringComparison.Ordinal)),
                source.Bytes.Length,
                readLength,
                pieceSize,
                new ResponseVerifier(source, patched ? machine : null, readLength)))
            .ToArray();

        using var deadline = new CancellationTokenSource(timeLimit);
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(clients.Select(client => Task.Run(() => client.RunAsync(deadline.Token))));
        var wall = Stopwatch.GetElapsedTime(started);

        var verification = patched
            ? $"bytes outside the {source.Occurrences.Length} magic-string occurrences equal the source; each occurrence is the machine's kernel parameters, space-padded"
            : "every byte equals the source";
        if (readLength < source.Bytes.Length)
        {
            verification += string.Create(CultureInfo.InvariantCulture, $"; only the first {readLength} bytes were read");
        }

        var report = new PassReport(label, clients, wall);
        report.Print(Console.Out, urlTemplate, pieceSize, verification);
        if (deadline.IsCancellationRequested)
        {
            Console.WriteLine($"   deadline      {timeLimit.TotalSeconds:F0} s reached: the pass was cut short");
        }

        return report.Clean ? 0 : 1;
    }
}
