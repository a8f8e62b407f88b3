using System.Diagnostics;
using System.Globalization;

namespace IsoCluster.FleetBoot;

/// <summary>What one pass of a fleet boot measured: bytes, wall time, throughput, latency percentiles and errors.</summary>
internal sealed class PassReport
{
    private readonly string _label;
    private readonly IReadOnlyList<BootClient> _clients;
    private readonly TimeSpan _wall;

    /// <summary>A report of <paramref name="clients"/>, which ran for <paramref name="wall"/>.</summary>
    public PassReport(string label, IReadOnlyList<BootClient> clients, TimeSpan wall)
    {
        _label = label;
        _clients = clients;
        _wall = wall;
    }

    /// <summary>Whether every request of every boot was answered, and answered right.</summary>
    public bool Clean => Errors == 0 && Unfinished == 0;

    private long Errors => _clients.Sum(c => (long)c.Errors);

    private long Unfinished => _clients.Sum(c => (long)(c.RequestsPerBoot - c.Requests));

    /// <summary>Prints the figures for people, then one <c>RESULT</c> line of key=value pairs for scripts.</summary>
    public void Print(TextWriter output, string target, int pieceSize, string verification)
    {
        var requests = _clients.Sum(c => (long)c.Requests);
        var bytes = _clients.Sum(c => c.Bytes);
        var seconds = _wall.TotalSeconds;
        var megabytesPerSecond = bytes / 1e6 / seconds;
        var latencies = _clients.SelectMany(c => c.Latencies.Take(c.Requests)).ToArray();
        Array.Sort(latencies);
        var p50 = Percentile(latencies, 0.50);
        var p95 = Percentile(latencies, 0.95);
        var p99 = Percentile(latencies, 0.99);
        var max = Percentile(latencies, 1.0);
        var perBoot = _clients.Count == 0 ? 0 : _clients[0].RequestsPerBoot;

        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"== pass {_label}: {_clients.Count} clients x {perBoot} requests of {pieceSize / 1024} KiB from {target}"));
        output.WriteLine(string.Create(c, $"   total bytes   {bytes} ({bytes / 1048576.0:F1} MiB)"));
        output.WriteLine(string.Create(c, $"   wall time     {seconds:F3} s"));
        output.WriteLine(string.Create(c, $"   throughput    {megabytesPerSecond:F1} MB/s aggregate (10^6 bytes/s)"));
        output.WriteLine(string.Create(c, $"   latency       p50 {p50:F3} ms, p95 {p95:F3} ms, p99 {p99:F3} ms, max {max:F3} ms (send to last body byte)"));
        output.WriteLine(string.Create(c, $"   requests      {requests} answered, {Errors} errors, {Unfinished} not sent before the deadline"));
        output.WriteLine(string.Create(c, $"   verification  {verification}"));
        foreach (var sample in _clients.SelectMany(client => client.ErrorSamples).Take(10))
        {
            output.WriteLine($"   error: {sample}");
        }

        output.WriteLine(string.Create(
            c,
            $"RESULT label={_label} clients={_clients.Count} requests={requests} bytes={bytes} wall_s={seconds:F3} mb_per_s={megabytesPerSecond:F1} p50_ms={p50:F3} p95_ms={p95:F3} p99_ms={p99:F3} max_ms={max:F3} errors={Errors} unfinished={Unfinished}"));
    }

    // Nearest-rank percentile, in milliseconds.
    private static double Percentile(long[] sortedTicks, double fraction)
    {
        if (sortedTicks.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(fraction * sortedTicks.Length);
        return sortedTicks[Math.Clamp(rank - 1, 0, sortedTicks.Length - 1)] * 1000.0 / Stopwatch.Frequency;
    }
}
