using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Hardware.Kubernetes;
using IsoCluster.Grains.Machines;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Tests.Hardware;

/// <summary>
/// The Kubernetes Hardware source against a loopback stand-in of the API server's list/watch protocol, driven
/// through KubernetesClient itself (no kube-apiserver runs on the build machines).
/// </summary>
public sealed partial class KubernetesHardwareSourceTests : IAsyncLifetime
{
    // The issue's promise: a change reaches new requests within 2 s.
    private static readonly TimeSpan ChangeDeadline = TimeSpan.FromSeconds(2);

    // Generous for the first list and for retries, which sleep on purpose.
    private static readonly TimeSpan LoadDeadline = TimeSpan.FromSeconds(15);

    private static readonly MacAddress Mac1 = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress Mac2 = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly MacAddress Mac3 = MacAddress.Parse("02:00:00:00:00:03");

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-k8s-");
    private readonly ListLogger<KubernetesHardwareSource> _logger = new();
    private readonly List<KubernetesHardwareSource> _sources = [];
    private FakeKubernetesApi _api = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _kubeconfig = _api.WriteKubeconfig(Path.Combine(_directory.FullName, "kubeconfig"));
    }

    public async Task DisposeAsync()
    {
        foreach (var source in _sources)
        {
            await source.StopAsync(CancellationToken.None);
            source.Dispose();
        }

        await _api.DisposeAsync();
        _directory.Delete(recursive: true);

        // Whatever the test provoked, the loop only ever meets API failures, never a bug of its own.
        Assert.DoesNotContain(_logger.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task StartAsync_FirstListLoads_BecomesReadyAndFindsMachines()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01", facility: "lab"));
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm02", "02:00:00:00:00:02"));
        var source = Create();
        Assert.NotNull(source.NotReadyReason);

        await StartAndWaitReadyAsync(source);

        var found = await source.FindAsync(Mac1, CancellationToken.None);
        Assert.Equal(HardwareLookupStatus.Found, found.Status);
        Assert.Equal("sm01", found.Machine!.HardwareName);
        Assert.Equal("tink", found.Machine.Namespace);
        Assert.Equal("lab", found.Machine.Facility);
        Assert.Equal("10.0.0.10", found.Machine.Interface.IpAddress);
        Assert.Equal(["1.1.1.1", "8.8.8.8"], found.Machine.Interface.NameServers.AsEnumerable());
        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Mac2, CancellationToken.None)).Status);
        Assert.Equal(HardwareLookupStatus.NotFound, (await source.FindAsync(Mac3, CancellationToken.None)).Status);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1101 && e.Message.Contains("2 objects, 2 machines", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FindAsync_BeforeFirstListSucceeds_IsUnavailableAndNotReadyWithTheReason()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        _api.FailLists(int.MaxValue);
        var source = Create();
        await source.StartAsync(CancellationToken.None);

        await EventuallyAsync(() => Task.FromResult(_api.Lists.Count >= 2), LoadDeadline);
        var early = await source.FindAsync(Mac1, CancellationToken.None);

        Assert.Equal(HardwareLookupStatus.Unavailable, early.Status);
        Assert.Contains("--hardware-source kubernetes", early.Reason, StringComparison.Ordinal);
        Assert.Contains("HTTP 500", source.NotReadyReason, StringComparison.Ordinal);
        Assert.Contains("injected failure", source.NotReadyReason, StringComparison.Ordinal);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1104 && e.Message.Contains("not ready until a list succeeds", StringComparison.Ordinal));

        _api.FailLists(0);
        await EventuallyAsync(() => Task.FromResult(source.NotReadyReason is null), LoadDeadline);
        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Mac1, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Watch_AddModifyDelete_VisibleToLookupsWithinTwoSeconds()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        var source = await StartReadyAsync();
        var before = (await source.FindAsync(Mac1, CancellationToken.None)).Machine!;

        _api.Put(FakeKubernetesApi.Hardware("tink", "sm02", "02:00:00:00:00:02"));
        await EventuallyAsync(async () => (await source.FindAsync(Mac2, CancellationToken.None)).Status == HardwareLookupStatus.Found, ChangeDeadline);

        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01", facility: "lab2"));
        await EventuallyAsync(async () => (await source.FindAsync(Mac1, CancellationToken.None)).Machine?.Facility == "lab2", ChangeDeadline);
        var after = (await source.FindAsync(Mac1, CancellationToken.None)).Machine!;

        _api.Delete("tink", "sm02");
        await EventuallyAsync(async () => (await source.FindAsync(Mac2, CancellationToken.None)).Status == HardwareLookupStatus.NotFound, ChangeDeadline);

        // The machine grain rebuilds its plan exactly when the revision changes.
        Assert.NotEqual(before.Revision, after.Revision);
        Assert.NotEqual(before.ResourceVersion, after.ResourceVersion);
        Assert.Single(_api.Lists);
    }

    [Fact]
    public async Task Watch_ModifiedWithoutBootChange_KeepsRevision()
    {
        var hardware = FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01");
        _api.Put(hardware);
        var source = await StartReadyAsync();
        var before = (await source.FindAsync(Mac1, CancellationToken.None)).Machine!;

        hardware["metadata"]!["labels"] = new JsonObject { ["rack"] = "r7" };
        var resourceVersion = _api.Put(hardware).ToString(CultureInfo.InvariantCulture);
        await EventuallyAsync(async () => (await source.FindAsync(Mac1, CancellationToken.None)).Machine?.ResourceVersion == resourceVersion, ChangeDeadline);

        Assert.Equal(before.Revision, (await source.FindAsync(Mac1, CancellationToken.None)).Machine!.Revision);
    }

    [Fact]
    public async Task Watch_Bookmark_AdvancesTheResourceVersionTheWatchResumesFrom()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        var source = await StartReadyAsync();
        await EventuallyAsync(() => Task.FromResult(_api.OpenWatchCount == 1), LoadDeadline);
        Assert.True(_api.Watches[0].AllowWatchBookmarks);

        // Changes to other objects move the global resource version; only the bookmark tells this watch.
        _api.BumpResourceVersion(by: 7);
        var bookmark = _api.SendBookmark().ToString(CultureInfo.InvariantCulture);
        await EventuallyAsync(() => Task.FromResult(source.ResourceVersion == bookmark), ChangeDeadline);
        _api.DropWatches();

        await EventuallyAsync(() => Task.FromResult(_api.Watches.Count >= 2), LoadDeadline);
        Assert.Equal(bookmark, _api.Watches[1].ResourceVersion);
        Assert.Single(_api.Lists);
    }

    [Fact]
    public async Task Watch_Gone410_RelistsAndHoldsExactlyWhatTheApiHolds()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm02", "02:00:00:00:00:02"));
        var source = await StartReadyAsync();
        await EventuallyAsync(() => Task.FromResult(_api.OpenWatchCount == 1), LoadDeadline);

        // The watch falls behind and misses these; then the history it would need is compacted away.
        _api.Stall(true);
        _api.Delete("tink", "sm02");
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm03", "02:00:00:00:00:03"));
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01", facility: "after-410"));
        _api.Stall(false);
        _api.ExpireHistory();

        await EventuallyAsync(async () => (await source.FindAsync(Mac3, CancellationToken.None)).Status == HardwareLookupStatus.Found, LoadDeadline);
        Assert.Equal(HardwareLookupStatus.NotFound, (await source.FindAsync(Mac2, CancellationToken.None)).Status);
        Assert.Equal("after-410", (await source.FindAsync(Mac1, CancellationToken.None)).Machine!.Facility);
        Assert.Equal(2, _api.Lists.Count);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1106 && e.Message.Contains("410", StringComparison.Ordinal));
        Assert.Equal(_api.ResourceVersion.ToString(CultureInfo.InvariantCulture), source.ResourceVersion);
    }

    [Fact]
    public async Task Watch_ConnectionDropped_ResumesFromLastResourceVersionWithoutRelist()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        var source = await StartReadyAsync();
        var seen = _api.Put(FakeKubernetesApi.Hardware("tink", "sm02", "02:00:00:00:00:02")).ToString(CultureInfo.InvariantCulture);
        await EventuallyAsync(() => Task.FromResult(source.ResourceVersion == seen), ChangeDeadline);

        _api.DropWatches();
        await EventuallyAsync(() => Task.FromResult(_api.Watches.Count >= 2 && _api.OpenWatchCount == 1), LoadDeadline);
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm03", "02:00:00:00:00:03"));

        await EventuallyAsync(async () => (await source.FindAsync(Mac3, CancellationToken.None)).Status == HardwareLookupStatus.Found, ChangeDeadline);
        Assert.Equal(seen, _api.Watches[1].ResourceVersion);
        Assert.Single(_api.Lists);
    }

    [Fact]
    public async Task Relist_ApiAnswers500_RetriesWithGrowingBackoffWhileOldDataServes()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        var source = await StartReadyAsync(initialDelay: TimeSpan.FromMilliseconds(100));
        await EventuallyAsync(() => Task.FromResult(_api.OpenWatchCount == 1), LoadDeadline);

        _api.FailLists(3);
        _api.Stall(true);
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm02", "02:00:00:00:00:02"));
        _api.ExpireHistory();
        _api.Stall(false);

        // While the lists fail, lookups answer from the last good data and the source stays ready.
        await EventuallyAsync(() => Task.FromResult(_api.Lists.Count >= 3), LoadDeadline);
        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Mac1, CancellationToken.None)).Status);
        Assert.Null(source.NotReadyReason);

        await EventuallyAsync(async () => (await source.FindAsync(Mac2, CancellationToken.None)).Status == HardwareLookupStatus.Found, LoadDeadline);
        Assert.Equal(5, _api.Lists.Count);
        Assert.Equal([500, 500, 500, 200], _api.Lists.Skip(1).Select(r => r.StatusCode));
        var failed = _logger.Entries.Where(e => e.EventId.Id == 1104).ToList();
        Assert.Equal(3, failed.Count);
        Assert.All(failed, e => Assert.Contains("lookups keep the last good data", e.Message, StringComparison.Ordinal));

        // Equal jitter: the n-th retry waits between half and all of 100 ms x 2^(n-1).
        var delays = _logger.Entries.Where(e => e.EventId.Id == 1108).Select(e => RetryDelay(e.Message)).ToList();
        Assert.True(delays.Count >= 3, string.Join(", ", delays));
        for (var i = 0; i < 3; i++)
        {
            var ceiling = TimeSpan.FromMilliseconds(100 * Math.Pow(2, i));
            Assert.InRange(delays[i], ceiling / 2, ceiling);
        }
    }

    [Fact]
    public async Task List_InvalidObject_IsSkippedAndLoggedWhileTheOthersLoad()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        _api.Put(FakeKubernetesApi.Hardware("lab", "broken", "zz"));
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm03", "02:00:00:00:00:03"));

        var source = await StartReadyAsync();

        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Mac1, CancellationToken.None)).Status);
        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Mac3, CancellationToken.None)).Status);
        var skipped = Assert.Single(_logger.Entries, e => e.EventId.Id == 1102);
        Assert.Equal(LogLevel.Warning, skipped.Level);
        Assert.Contains("lab/broken", skipped.Message, StringComparison.Ordinal);
        Assert.Contains("spec.interfaces[0].dhcp.mac: 'zz' is not a MAC address", skipped.Message, StringComparison.Ordinal);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1101 && e.Message.Contains("(1 objects skipped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watch_ObjectEditedToInvalid_IsRemovedAndLoggedWhileTheOthersStay()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm02", "02:00:00:00:00:02"));
        var source = await StartReadyAsync();

        _api.Put(FakeKubernetesApi.Hardware("tink", "sm02", "02:00:00:00:00:02", hostname: null, facility: null).Also(h => h["spec"]!["interfaces"]![0]!["dhcp"]!["name_servers"] = new JsonObject()));

        await EventuallyAsync(async () => (await source.FindAsync(Mac2, CancellationToken.None)).Status == HardwareLookupStatus.NotFound, ChangeDeadline);
        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Mac1, CancellationToken.None)).Status);
        var skipped = Assert.Single(_logger.Entries, e => e.EventId.Id == 1102);
        Assert.Contains("tink/sm02", skipped.Message, StringComparison.Ordinal);
        Assert.Contains("spec.interfaces[0].dhcp.name_servers", skipped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Namespace_Set_ListsAndWatchesOnlyThatNamespace()
    {
        _api.Put(FakeKubernetesApi.Hardware("rack1", "sm01", "02:00:00:00:00:01"));
        _api.Put(FakeKubernetesApi.Hardware("rack2", "sm02", "02:00:00:00:00:02"));
        var source = await StartReadyAsync(@namespace: "rack1");

        _api.Put(FakeKubernetesApi.Hardware("rack2", "sm03", "02:00:00:00:00:03"));
        _api.Put(FakeKubernetesApi.Hardware("rack1", "sm01", "02:00:00:00:00:01", facility: "seen"));
        await EventuallyAsync(async () => (await source.FindAsync(Mac1, CancellationToken.None)).Machine?.Facility == "seen", ChangeDeadline);

        Assert.Equal(HardwareLookupStatus.NotFound, (await source.FindAsync(Mac2, CancellationToken.None)).Status);
        Assert.Equal(HardwareLookupStatus.NotFound, (await source.FindAsync(Mac3, CancellationToken.None)).Status);
        Assert.Contains("namespace 'rack1'", (await source.FindAsync(Mac3, CancellationToken.None)).Reason, StringComparison.Ordinal);
        Assert.All(_api.Requests, r => Assert.Equal("/apis/tinkerbell.org/v1alpha1/namespaces/rack1/hardware", r.Path));
    }

    [Fact]
    public async Task List_MoreObjectsThanOnePage_ReadsEveryPageAtOneResourceVersion()
    {
        for (var i = 1; i <= 5; i++)
        {
            _api.Put(FakeKubernetesApi.Hardware("tink", $"sm0{i}", $"02:00:00:00:00:0{i}"));
        }

        var source = await StartReadyAsync(pageSize: 2);

        Assert.Equal(5, source.Snapshot!.ObjectCount);
        Assert.Equal([2, 2, 2], _api.Lists.Select(r => r.Limit ?? 0));
        Assert.Null(_api.Lists[0].Continue);
        Assert.NotNull(_api.Lists[2].Continue);
        Assert.Equal(_api.ResourceVersion.ToString(CultureInfo.InvariantCulture), _api.Watches[0].ResourceVersion);
    }

    [Fact]
    public async Task Watch_TwoObjectsClaimOneMac_NeitherBootsUntilOneLetsGo()
    {
        _api.Put(FakeKubernetesApi.Hardware("tink", "sm01", "02:00:00:00:00:01"));
        var source = await StartReadyAsync();

        _api.Put(FakeKubernetesApi.Hardware("tink", "copy", "02:00:00:00:00:01"));
        await EventuallyAsync(async () => (await source.FindAsync(Mac1, CancellationToken.None)).Status == HardwareLookupStatus.NotFound, ChangeDeadline);
        var conflict = await source.FindAsync(Mac1, CancellationToken.None);
        Assert.Contains("'tink/sm01' and 'tink/copy'", conflict.Reason, StringComparison.Ordinal);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1103 && e.Level == LogLevel.Warning && e.Message.Contains("02:00:00:00:00:01", StringComparison.Ordinal));

        _api.Delete("tink", "copy");
        await EventuallyAsync(async () => (await source.FindAsync(Mac1, CancellationToken.None)).Machine?.HardwareName == "sm01", ChangeDeadline);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1109);
    }

    [Fact]
    public async Task StartAsync_UnreadableKubeconfig_ThrowsNamingTheFlag()
    {
        var kubeconfig = Path.Combine(_directory.FullName, "broken-kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, "apiVersion: v1\nkind: Config\nclusters: [\n");
        var source = Create(kubeconfig: kubeconfig);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => source.StartAsync(CancellationToken.None));

        Assert.StartsWith($"--kubeconfig (Hardware:Kubeconfig): '{kubeconfig}' cannot be used", error.Message, StringComparison.Ordinal);
    }

    private static TimeSpan RetryDelay(string message) =>
        TimeSpan.Parse(RetryDelayPattern().Match(message).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"in (\d\d:\d\d:\d\d(?:\.\d+)?)")]
    private static partial Regex RetryDelayPattern();

    private async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not true within {within}; the API saw:\n  {string.Join("\n  ", _api.Requests)}\nthe source logged:\n  {string.Join("\n  ", _logger.Entries)}");
            await Task.Delay(20);
        }
    }

    private KubernetesHardwareSource Create(string? @namespace = null, int pageSize = 500, TimeSpan? initialDelay = null, string? kubeconfig = null)
    {
        var options = new HardwareOptions
        {
            Source = HardwareOptions.KubernetesSource,
            Kubeconfig = kubeconfig ?? _kubeconfig,
            Namespace = @namespace,
            ListPageSize = pageSize,
            RetryInitialDelay = initialDelay ?? TimeSpan.FromMilliseconds(50),
            RetryMaxDelay = TimeSpan.FromSeconds(1),
        };
        var source = new KubernetesHardwareSource(Options.Create(options), TimeProvider.System, _logger);
        _sources.Add(source);
        return source;
    }

    private async Task<KubernetesHardwareSource> StartReadyAsync(string? @namespace = null, int pageSize = 500, TimeSpan? initialDelay = null)
    {
        var source = Create(@namespace, pageSize, initialDelay);
        await StartAndWaitReadyAsync(source);
        return source;
    }

    private async Task StartAndWaitReadyAsync(KubernetesHardwareSource source)
    {
        await source.StartAsync(CancellationToken.None);
        await EventuallyAsync(() => Task.FromResult(source.NotReadyReason is null), LoadDeadline);
    }
}

/// <summary>Small conveniences for building test objects inline.</summary>
internal static class JsonObjectTestExtensions
{
    public static JsonObject Also(this JsonObject node, Action<JsonObject> change)
    {
        change(node);
        return node;
    }
}
