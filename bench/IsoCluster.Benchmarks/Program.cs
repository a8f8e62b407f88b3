using BenchmarkDotNet.Running;

namespace IsoCluster.Benchmarks;

/// <summary>
/// Runs BenchmarkDotNet's switcher over this assembly: <c>--filter</c>, <c>--job short</c>, <c>--list flat</c>,
/// exporters and the rest work as documented. Every benchmark class has a baseline, so the Ratio column compares
/// peers measured in the same run on the same (shared, noisy) machine; absolute times are for orientation only.
/// </summary>
internal static class BenchmarkProgram
{
    // Not named Program: the gateway's top-level Program is visible here through InternalsVisibleTo.
    private static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(BenchmarkProgram).Assembly).Run(args);
}
