using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace IsoCluster.EndToEnd.Tests.Cluster;

/// <summary>
/// DESIGN invariant 8 on the production topology: a silo crashes (SIGKILL) while a rack of BMCs reads through both
/// gateways, and not one read fails or carries a wrong byte; the cluster declares the silo dead within seconds, and
/// the silo, started again on its ports, rejoins and takes new grains.
/// </summary>
[Collection(ProcessClusterDefinition.Name)]
[Trait("Category", "Cluster")]
[Trait("Category", "EndToEnd")]
public sealed class SiloCrashTests(ITestOutputHelper output)
{
    private const int Bmcs = 32;
    private const int NewIsoRounds = 4;

    // The tuned failure detector votes a silent silo dead in about 3 s; Orleans' defaults would take 15 s or more.
    private static readonly TimeSpan DeclareDeadTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RejoinTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(30);

    // The rack reads on this long after the cluster declared the silo dead; reads in flight until then count as
    // disrupted.
    private static readonly TimeSpan Aftermath = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Get_SiloKilledUnderThirtyTwoBmcs_NoReadFailsAndRestartedSiloRejoinsAndTakesGrains()
    {
        var clock = Stopwatch.StartNew();
        await using var bed = await ClusterTestBed.StartAsync(silos: 3, gateways: 2, chunkSize: "256KiB");
        var cluster = bed.Cluster;
        output.WriteLine(At(clock, "cluster ready"));
        Assert.True(
            await bed.Observer.WaitForActiveSilosAsync(active => active.Count == 3, PhaseTimeout) is not null,
            $"the cluster never showed 3 active silos{Environment.NewLine}{cluster.Output}");

        // 1. Every process has served the path once (a cold start on a busy runner is not what this test is about);
        // then a rack boots through both gateways.
        var retries = await bed.WarmUpAsync(PhaseTimeout);
        output.WriteLine(At(clock, $"warm-up: first reads through both gateways right after {retries} retries of a 503/504"));
        await bed.AssertWholeIsoThroughEveryGatewayAsync();
        output.WriteLine(At(clock, "warm: whole ISO right through both gateways"));
        await using var loadBalancer = new LoadBalancer(cluster.Gateways, followReadiness: false, clock);
        await using var fleet = BmcFleet.Start(Bmcs, seed: 7, loadBalancer, bed.Reference, clock);
        await fleet.WaitForReadsAsync(Bmcs * 8, PhaseTimeout, () => cluster.Output);

        // 2. The silo holding the most chunk grains crashes.
        var before = await bed.Observer.ChunkActivationsBySiloPortAsync();
        output.WriteLine(At(clock, $"chunk grains per silo before the kill: {Distribution(cluster, before)}"));
        var victim = cluster.Silos.MaxBy(silo => before.GetValueOrDefault(silo.SiloPort))!;
        var killedAt = clock.Elapsed;
        await victim.KillAsync();
        output.WriteLine(At(clock, $"SIGKILL {victim.Name} (pid {victim.Process.Id}, silo port {victim.SiloPort})"));

        var toDead = await bed.Observer.WaitForActiveSilosAsync(active => active.Count == 2 && !active.Contains(victim.SiloPort), DeclareDeadTimeout);
        var declaredDeadAt = killedAt + (toDead ?? DeclareDeadTimeout);
        output.WriteLine(At(clock, toDead is null
            ? $"{victim.Name} still active after {DeclareDeadTimeout.TotalSeconds} s"
            : $"{victim.Name} declared dead {toDead.Value.TotalSeconds:0.000} s after SIGKILL"));
        await fleet.WaitForReadsAsync(Bmcs * 8, PhaseTimeout, () => cluster.Output);
        if (declaredDeadAt + Aftermath - clock.Elapsed is { Ticks: > 0 } settle)
        {
            await Task.Delay(settle);
        }

        var reads = await fleet.StopAsync();
        Report(reads, killedAt, declaredDeadAt, loadBalancer);
        var problems = reads.Where(read => read.Problem is not null).ToList();
        Assert.True(toDead is not null, $"{victim.Name} was not declared dead within {DeclareDeadTimeout.TotalSeconds} s of SIGKILL{Environment.NewLine}{cluster.Output}");
        Assert.True(
            problems.Count == 0,
            $"{problems.Count} of {reads.Count} reads failed or were wrong:{Environment.NewLine}" +
            string.Join(Environment.NewLine, problems.Take(20).Select(p => $"{p.StartedAt.TotalSeconds:0.000} s (+{p.Duration.TotalSeconds:0.000} s) BMC {p.Bmc}: {p.Problem}")) +
            $"{Environment.NewLine}{cluster.Output}");

        // 3. The silo starts again on the same ports and rejoins. The rack has finished: on a 2-core runner a new
        // process under a saturating load spends half a minute compiling its start-up path, which says nothing about
        // membership.
        var restartedAt = clock.Elapsed;
        await cluster.RestartAsync(victim, RejoinTimeout);
        output.WriteLine(At(clock, $"{victim.Name} restarted (pid {victim.Process.Id}); /health/ready 200 after {(clock.Elapsed - restartedAt).TotalSeconds:0.000} s"));
        var toRejoin = await bed.Observer.WaitForActiveSilosAsync(active => active.Count == 3 && active.Contains(victim.SiloPort), RejoinTimeout);
        output.WriteLine(At(clock, toRejoin is null ? $"{victim.Name} not active again" : $"3 active silos again, {victim.Name} included"));
        Assert.True(toRejoin is not null, $"{victim.Name} did not rejoin within {RejoinTimeout.TotalSeconds} s{Environment.NewLine}{cluster.Output}");

        // 4. New chunks (another upstream file each round, so another version and new chunk grains) land on the
        // rejoined silo too. Each round places 25 new grains; one round almost always suffices.
        var held = 0;
        for (var round = 1; round <= NewIsoRounds && held == 0; round++)
        {
            var file = $"rejoin-{round}.iso";
            bed.Upstream.SetFile(file, bed.Image.Bytes);
            await bed.AssertWholeIsoThroughEveryGatewayAsync(file);
            var after = await bed.Observer.ChunkActivationsBySiloPortAsync();
            held = after.GetValueOrDefault(victim.SiloPort);
            output.WriteLine(At(clock, $"after reading {file}: chunk grains per silo {Distribution(cluster, after)}"));
        }

        Assert.True(held > 0, $"the rejoined {victim.Name} holds no chunk grain after {NewIsoRounds} new ISOs{Environment.NewLine}{cluster.Output}");
    }

    private void Report(IReadOnlyList<BmcRead> reads, TimeSpan killedAt, TimeSpan declaredDeadAt, LoadBalancer loadBalancer)
    {
        var disrupted = reads.Where(read => read.Overlaps(killedAt, declaredDeadAt + Aftermath)).ToList();
        output.WriteLine($"{reads.Count} reads by {Bmcs} BMCs; per gateway: {string.Join(", ", reads.GroupBy(r => r.Gateway).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))}");
        if (disrupted.MaxBy(read => read.Duration) is { } longest)
        {
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{disrupted.Count} reads in flight between the kill and {Aftermath.TotalSeconds} s after it was declared dead; longest {longest.Duration.TotalMilliseconds:0} ms " +
                $"(BMC {longest.Bmc} via {longest.Gateway}, {longest.Range}, sent {(longest.StartedAt - killedAt).TotalSeconds:+0.000;-0.000} s from the kill); " +
                $"over 1 s: {disrupted.Count(r => r.Duration > TimeSpan.FromSeconds(1))}, over 5 s: {disrupted.Count(r => r.Duration > TimeSpan.FromSeconds(5))}"));
        }

        var calm = reads.Where(read => read.EndedAt < killedAt).Select(read => read.Duration).Order().ToList();
        if (calm.Count > 0)
        {
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"before the kill: {calm.Count} reads, median {calm[calm.Count / 2].TotalMilliseconds:0} ms, p99 {calm[calm.Count * 99 / 100].TotalMilliseconds:0} ms, longest {calm[^1].TotalMilliseconds:0} ms"));
        }

        foreach (var line in loadBalancer.Events)
        {
            output.WriteLine($"load balancer: {line}");
        }
    }

    private static string Distribution(ProcessCluster cluster, IReadOnlyDictionary<int, int> activations) =>
        string.Join(", ", cluster.Silos.Select(silo => $"{silo.Name} {activations.GetValueOrDefault(silo.SiloPort)}"));

    private static string At(Stopwatch clock, string what) =>
        string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,7:0.000} s ({DateTime.UtcNow:HH:mm:ss.fff} UTC): {what}");
}
