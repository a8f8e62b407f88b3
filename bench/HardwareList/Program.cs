// Memory per Hardware object and time of the first list, for a fleet held by the Kubernetes Hardware source.
//
//   dotnet run -c Release --project bench/HardwareList -- [--objects 100000] [--page-size 500]
//
// 1. Starts the loopback API server of the tests and fills it with N Hardware objects shaped as `kubectl get
//    hardware -o json` prints Tinkerbell's (managedFields, labels, spec.metadata.instance, two name servers), then
//    forgets the server's event history so only the objects themselves stay in memory.
// 2. Times the first list of a fresh process: from StartAsync until NotReadyReason is null (every page read, parsed
//    and indexed), then stops that source. It has grown the buffer pools of both sides to their steady size.
// 3. Measures live managed bytes after a full GC (the baseline), loads a second source (timed too: warm code, as a
//    relist runs), and measures again; the difference over N is the memory per object (it includes the client and
//    the string pool, which all objects share).
// 4. Times lookups, and how long one MODIFIED takes to reach a lookup with N objects loaded.
// Nothing is asserted: the figures are printed, for the README.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Hardware.Kubernetes;
using IsoCluster.Grains.Machines;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

var objects = Argument(args, "--objects", 100_000);
var pageSize = Argument(args, "--page-size", 500);
var directory = Directory.CreateTempSubdirectory("isocluster-hardware-bench-");
await using var api = await FakeKubernetesApi.StartAsync();
var kubeconfig = api.WriteKubeconfig(Path.Combine(directory.FullName, "kubeconfig"));

var fill = Stopwatch.StartNew();
for (var i = 0; i < objects; i++)
{
    api.Put(Realistic(i));
}

api.ExpireHistory();
Console.WriteLine($"filled the fake API with {objects:N0} Hardware objects in {fill.Elapsed.TotalSeconds:F1} s");

var options = new HardwareOptions
{
    Source = HardwareOptions.KubernetesSource,
    Kubeconfig = kubeconfig,
    ListPageSize = pageSize,
};

// The first source measures the first list of a process that just started (code not yet optimized by the JIT); it
// also grows the buffer pools of the client and of the in-process API server to their steady size, so that the
// baseline below holds them and the second source's figure holds only what it keeps per object.
// It is stopped but kept alive to the end: whatever it holds is in both measurements and cancels out, rather than
// being collected at some point in between.
var (cold, coldElapsed) = await LoadAsync(options);
await cold.StopAsync(CancellationToken.None);
var baseline = LiveBytes();
var (source, listedWarm) = await LoadAsync(options);
var loaded = LiveBytes();
var perObject = (double)(loaded - baseline) / objects;
var pages = api.Lists.Count / 2;

var lookups = Stopwatch.StartNew();
var found = 0;
for (var i = 0; i < 1_000_000; i++)
{
    if ((await source.FindAsync(Mac(i % objects), CancellationToken.None)).Status == HardwareLookupStatus.Found)
    {
        found++;
    }
}

lookups.Stop();

var change = Stopwatch.StartNew();
api.Put(Realistic(objects / 2, facility: "moved"));
while ((await source.FindAsync(Mac(objects / 2), CancellationToken.None)).Machine?.Facility != "moved")
{
    await Task.Delay(1);
}

change.Stop();
await source.StopAsync(CancellationToken.None);
source.Dispose();
cold.Dispose();
directory.Delete(recursive: true);

Console.WriteLine($"first list:           {coldElapsed.TotalSeconds:F2} s for {objects:N0} objects in {pages} pages of {pageSize}, in a fresh process ({listedWarm.TotalSeconds:F2} s once the code is warm, as for a relist)");
Console.WriteLine($"memory per object:    {perObject:N0} bytes (live managed heap after a full GC, {(loaded - baseline) / 1048576.0:N1} MiB in all)");
Console.WriteLine($"lookup:               {lookups.Elapsed.TotalNanoseconds / 1_000_000:N0} ns each ({found:N0} of 1,000,000 found)");
Console.WriteLine($"one MODIFIED visible: {change.Elapsed.TotalMilliseconds:N1} ms after the API stored it");
Console.WriteLine($"RESULT objects={objects} first_list_s={coldElapsed.TotalSeconds:F2} relist_s={listedWarm.TotalSeconds:F2} bytes_per_object={perObject:F0} lookup_ns={lookups.Elapsed.TotalNanoseconds / 1_000_000:F0} change_ms={change.Elapsed.TotalMilliseconds:F1}");

static async Task<(KubernetesHardwareSource Source, TimeSpan Elapsed)> LoadAsync(HardwareOptions options)
{
    var source = new KubernetesHardwareSource(Options.Create(options), TimeProvider.System, NullLogger<KubernetesHardwareSource>.Instance);
    var listed = Stopwatch.StartNew();
    await source.StartAsync(CancellationToken.None);
    while (source.NotReadyReason is not null)
    {
        await Task.Delay(5);
    }

    return (source, listed.Elapsed);
}

static long LiveBytes()
{
    for (var i = 0; i < 3; i++)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    return GC.GetTotalMemory(forceFullCollection: true);
}

static MacAddress Mac(int i) => new(0x0200_0000_0000UL + (ulong)i);

// One rack of 40 machines per /26: addresses are unique, gateways and netmasks repeat, as in a real fleet.
static JsonObject Realistic(int i, string? facility = null)
{
    var mac = Mac(i).ToString();
    var rack = i / 40;
    var hardware = FakeKubernetesApi.Hardware("tink-system", $"sm-{i:D6}", mac, facility ?? $"dc1-hall{rack % 4}", hostname: $"sm-{i:D6}");
    var metadata = hardware["metadata"]!.AsObject();
    metadata["uid"] = Guid.NewGuid().ToString();
    metadata["creationTimestamp"] = "2025-01-01T00:00:00Z";
    metadata["generation"] = 1;
    metadata["labels"] = new JsonObject { ["rack"] = $"r{rack}", ["v1alpha1.tinkerbell.org/ownerName"] = $"sm-{i:D6}" };
    metadata["managedFields"] = new JsonArray(new JsonObject
    {
        ["apiVersion"] = "tinkerbell.org/v1alpha1",
        ["fieldsType"] = "FieldsV1",
        ["manager"] = "kubectl-client-side-apply",
        ["operation"] = "Update",
        ["time"] = "2025-01-01T00:00:00Z",
        ["fieldsV1"] = JsonNode.Parse("""{"f:metadata":{"f:labels":{".":{},"f:rack":{}}},"f:spec":{".":{},"f:interfaces":{},"f:metadata":{".":{},"f:facility":{".":{},"f:facility_code":{}},"f:instance":{".":{},"f:hostname":{},"f:id":{}}}}}"""),
    });
    var dhcp = hardware["spec"]!["interfaces"]![0]!["dhcp"]!.AsObject();
    dhcp["ip"] = new JsonObject
    {
        ["address"] = $"10.{rack / 256 % 256}.{rack % 256}.{10 + (i % 40)}",
        ["gateway"] = $"10.{rack / 256 % 256}.{rack % 256}.1",
        ["netmask"] = "255.255.255.192",
    };
    dhcp["vlan_id"] = (100 + (rack % 8)).ToString(CultureInfo.InvariantCulture);
    hardware["spec"]!["metadata"]!["instance"] = new JsonObject
    {
        ["hostname"] = $"sm-{i:D6}",
        ["id"] = mac,
        ["operating_system"] = new JsonObject { ["distro"] = "ubuntu", ["version"] = "22.04" },
    };
    return hardware;
}

static int Argument(string[] args, string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
