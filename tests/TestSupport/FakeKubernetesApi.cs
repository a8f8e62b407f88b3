using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IsoCluster.TestSupport;

/// <summary>One request the fake API server answered.</summary>
/// <param name="Path">The request path.</param>
/// <param name="Watch">Whether it asked for a watch (<c>watch=true</c>).</param>
/// <param name="ResourceVersion">Its <c>resourceVersion</c>, or null.</param>
/// <param name="AllowWatchBookmarks">Whether it sent <c>allowWatchBookmarks=true</c>.</param>
/// <param name="Limit">Its <c>limit</c>, or null.</param>
/// <param name="Continue">Its <c>continue</c> token, or null.</param>
/// <param name="StatusCode">The status it was answered with.</param>
public sealed record KubernetesApiRequest(string Path, bool Watch, string? ResourceVersion, bool AllowWatchBookmarks, int? Limit, string? Continue, int StatusCode);

/// <summary>
/// A loopback stand-in for kube-apiserver (Kestrel), speaking the real list/watch protocol for Tinkerbell Hardware
/// (<c>/apis/tinkerbell.org/v1alpha1/hardware</c> and <c>/apis/tinkerbell.org/v1alpha1/namespaces/{ns}/hardware</c>),
/// so that clients are driven through KubernetesClient itself where no API server can run.
/// </summary>
/// <remarks>
/// <para>
/// A list answers a <c>HardwareList</c> with <c>metadata.resourceVersion</c>, in pages with <c>limit</c> and
/// <c>continue</c> (every page of one list is read at the first page's resource version). A watch
/// (<c>?watch=true&amp;resourceVersion=N</c>) streams newline-delimited JSON events with chunked encoding: first every
/// recorded change after N, then changes as they happen; <c>BOOKMARK</c>s when the test sends them to watches that
/// sent <c>allowWatchBookmarks=true</c>. A watch from a resource version older than the kept history gets what the
/// real server sends: a 200 whose one event is an <c>ERROR</c> with a 410 Status, and the end of the stream.
/// </para>
/// <para>
/// The resource version is one global counter, as etcd's revision is: every change bumps it, and
/// <see cref="BumpResourceVersion"/> stands for changes to other kinds of objects.
/// </para>
/// </remarks>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    public const string ApiVersion = "tinkerbell.org/v1alpha1";
    private const string BasePath = "/apis/tinkerbell.org/v1alpha1";

    private readonly Lock _lock = new();
    private readonly SortedDictionary<(string Namespace, string Name), byte[]> _objects = [];
    private readonly List<(long ResourceVersion, string Namespace, byte[] Line)> _history = [];
    private readonly List<OpenWatch> _watches = [];
    private readonly ConcurrentDictionary<string, (long ResourceVersion, byte[][] Items)> _listSnapshots = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<KubernetesApiRequest> _requests = new();
    private WebApplication? _app;
    private long _resourceVersion = 1000;
    private long _compactedBefore;
    private int _failLists;
    private int _failListStatus;
    private bool _stalled;

    private FakeKubernetesApi()
    {
    }

    /// <summary>The server's address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Host { get; private set; } = null!;

    /// <summary>The current (newest) resource version.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>Every request answered so far, in order.</summary>
    public IReadOnlyList<KubernetesApiRequest> Requests => [.. _requests];

    /// <summary>The list requests answered so far (every page counts).</summary>
    public IReadOnlyList<KubernetesApiRequest> Lists => [.. _requests.Where(r => !r.Watch)];

    /// <summary>The watch requests answered so far.</summary>
    public IReadOnlyList<KubernetesApiRequest> Watches => [.. _requests.Where(r => r.Watch)];

    /// <summary>How many watches are streaming now.</summary>
    public int OpenWatchCount
    {
        get
        {
            lock (_lock)
            {
                return _watches.Count;
            }
        }
    }

    /// <summary>Starts a server on a free loopback port.</summary>
    public static async Task<FakeKubernetesApi> StartAsync()
    {
        var server = new FakeKubernetesApi();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet(BasePath + "/hardware", (HttpContext context) => server.ServeAsync(context, null));
        app.MapGet(BasePath + "/namespaces/{ns}/hardware", (HttpContext context, string ns) => server.ServeAsync(context, ns));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Host = new Uri(address.TrimEnd('/'));
        server._app = app;
        return server;
    }

    /// <summary>A Tinkerbell Hardware object with one interface, as <c>kubectl get hardware -o json</c> shows it.</summary>
    public static JsonObject Hardware(string @namespace, string name, string mac, string? facility = null, string? hostname = null, string? sourceIso = null)
    {
        var dhcp = new JsonObject
        {
            ["arch"] = "x86_64",
            ["hostname"] = hostname ?? name,
            ["ip"] = new JsonObject { ["address"] = "10.0.0.10", ["gateway"] = "10.0.0.1", ["netmask"] = "255.255.255.0" },
            ["lease_time"] = 86400,
            ["mac"] = mac,
            ["name_servers"] = new JsonArray("1.1.1.1", "8.8.8.8"),
            ["uefi"] = true,
        };
        var nic = new JsonObject { ["dhcp"] = dhcp, ["netboot"] = new JsonObject { ["allowPXE"] = true, ["allowWorkflow"] = true } };
        if (sourceIso is not null)
        {
            nic["isoboot"] = new JsonObject { ["sourceISO"] = sourceIso };
        }

        return new JsonObject
        {
            ["apiVersion"] = ApiVersion,
            ["kind"] = "Hardware",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = @namespace },
            ["spec"] = new JsonObject
            {
                ["interfaces"] = new JsonArray(nic),
                ["metadata"] = new JsonObject { ["facility"] = new JsonObject { ["facility_code"] = facility ?? "onprem" } },
            },
        };
    }

    /// <summary>Writes a kubeconfig that reaches this server, with a bearer token it does not check.</summary>
    public string WriteKubeconfig(string path)
    {
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
              - name: fake
                cluster:
                  server: {Host}
            users:
              - name: tester
                user:
                  token: not-checked
            contexts:
              - name: fake
                context:
                  cluster: fake
                  user: tester
            current-context: fake
            """);
        return path;
    }

    /// <summary>Creates or replaces an object (ADDED or MODIFIED), stamping a new resource version; returns it.</summary>
    public long Put(JsonObject hardware)
    {
        ArgumentNullException.ThrowIfNull(hardware);
        var copy = hardware.DeepClone().AsObject();
        var metadata = copy["metadata"]?.AsObject() ?? throw new ArgumentException("the object has no metadata", nameof(hardware));
        var key = (metadata["namespace"]?.GetValue<string>() ?? "", metadata["name"]?.GetValue<string>() ?? "");
        lock (_lock)
        {
            var resourceVersion = ++_resourceVersion;
            metadata["resourceVersion"] = resourceVersion.ToString(CultureInfo.InvariantCulture);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(copy);
            var type = _objects.ContainsKey(key) ? "MODIFIED" : "ADDED";
            _objects[key] = bytes;
            Record(resourceVersion, key.Item1, type, bytes);
            return resourceVersion;
        }
    }

    /// <summary>Deletes an object (DELETED, carrying it at the deletion's resource version); false when absent.</summary>
    public bool Delete(string @namespace, string name)
    {
        lock (_lock)
        {
            if (!_objects.Remove((@namespace, name), out var bytes))
            {
                return false;
            }

            var resourceVersion = ++_resourceVersion;
            var node = JsonNode.Parse(bytes)!.AsObject();
            node["metadata"]!["resourceVersion"] = resourceVersion.ToString(CultureInfo.InvariantCulture);
            Record(resourceVersion, @namespace, "DELETED", JsonSerializer.SerializeToUtf8Bytes(node));
            return true;
        }
    }

    /// <summary>Advances the resource version with no Hardware change, as changes to other objects do.</summary>
    public long BumpResourceVersion(int by = 1)
    {
        lock (_lock)
        {
            _resourceVersion += by;
            return _resourceVersion;
        }
    }

    /// <summary>Sends a BOOKMARK at the current resource version to every open watch that allows them.</summary>
    public long SendBookmark()
    {
        lock (_lock)
        {
            var line = EventLine("BOOKMARK", JsonSerializer.SerializeToUtf8Bytes(new JsonObject
            {
                ["kind"] = "Hardware",
                ["apiVersion"] = ApiVersion,
                ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
            }));
            foreach (var watch in _watches.Where(w => w.Bookmarks))
            {
                watch.Lines.Writer.TryWrite(line);
            }

            return _resourceVersion;
        }
    }

    /// <summary>
    /// While stalled, changes are recorded but not sent to open watches, as when a watch cache falls behind; a
    /// watch started later still replays them.
    /// </summary>
    public void Stall(bool stalled)
    {
        lock (_lock)
        {
            _stalled = stalled;
        }
    }

    /// <summary>
    /// Forgets the history up to now, as etcd compaction does: a watch from an older resource version gets 410
    /// Gone. Open watches get the same ERROR event and end, as the real server ends a watcher that fell behind.
    /// </summary>
    public void ExpireHistory()
    {
        lock (_lock)
        {
            _compactedBefore = _resourceVersion;
            _history.Clear();
            foreach (var watch in _watches)
            {
                watch.Lines.Writer.TryWrite(GoneLine(watch.ResourceVersion));
                watch.Lines.Writer.TryComplete();
            }
        }
    }

    /// <summary>Drops every open watch connection (a reset, as a proxy or node failure would).</summary>
    public void DropWatches()
    {
        lock (_lock)
        {
            foreach (var watch in _watches)
            {
                watch.Context.Abort();
            }
        }
    }

    /// <summary>Ends every open watch cleanly, as the server does when a watch's timeout passes.</summary>
    public void CloseWatches()
    {
        lock (_lock)
        {
            foreach (var watch in _watches)
            {
                watch.Lines.Writer.TryComplete();
            }
        }
    }

    /// <summary>Answers the next <paramref name="count"/> list requests with <paramref name="statusCode"/> and a Status body.</summary>
    public void FailLists(int count, int statusCode = StatusCodes.Status500InternalServerError)
    {
        lock (_lock)
        {
            _failLists = count;
            _failListStatus = statusCode;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        CloseWatches();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static byte[] EventLine(string type, byte[] obj)
    {
        var prefix = Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"object\":");
        return [.. prefix, .. obj, .. "}\n"u8];
    }

    private byte[] GoneLine(long resourceVersion) => EventLine("ERROR", Status(
        410, "Expired", $"too old resource version: {resourceVersion} ({_compactedBefore})"));

    private static byte[] Status(int code, string reason, string message) => JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    });

    private void Record(long resourceVersion, string @namespace, string type, byte[] obj)
    {
        var line = EventLine(type, obj);
        _history.Add((resourceVersion, @namespace, line));
        if (_stalled)
        {
            return;
        }

        foreach (var watch in _watches.Where(w => w.Namespace is null || w.Namespace == @namespace))
        {
            watch.Lines.Writer.TryWrite(line);
        }
    }

    private async Task ServeAsync(HttpContext context, string? @namespace)
    {
        var query = context.Request.Query;
        var watch = query["watch"] == "true" || query["watch"] == "1";
        var resourceVersion = query["resourceVersion"].ToString() is { Length: > 0 } rv ? rv : null;
        var bookmarks = query["allowWatchBookmarks"] == "true";
        int? limit = int.TryParse(query["limit"], CultureInfo.InvariantCulture, out var l) ? l : null;
        var continueToken = query["continue"].ToString() is { Length: > 0 } c ? c : null;
        context.Response.OnStarting(() =>
        {
            _requests.Enqueue(new KubernetesApiRequest(context.Request.Path.Value ?? "", watch, resourceVersion, bookmarks, limit, continueToken, context.Response.StatusCode));
            return Task.CompletedTask;
        });

        if (watch)
        {
            await WatchAsync(context, @namespace, resourceVersion, bookmarks);
        }
        else
        {
            await ListAsync(context, @namespace, limit, continueToken);
        }
    }

    private async Task ListAsync(HttpContext context, string? @namespace, int? limit, string? continueToken)
    {
        context.Response.ContentType = "application/json";
        (long ResourceVersion, byte[][] Items) snapshot;
        var offset = 0;
        lock (_lock)
        {
            if (_failLists > 0)
            {
                _failLists--;
                context.Response.StatusCode = _failListStatus;
                snapshot = default;
            }
            else if (continueToken is null)
            {
                snapshot = (_resourceVersion, [.. _objects.Where(o => @namespace is null || o.Key.Namespace == @namespace).Select(o => o.Value)]);
            }
            else
            {
                snapshot = default;
            }
        }

        if (context.Response.StatusCode != StatusCodes.Status200OK)
        {
            await context.Response.Body.WriteAsync(Status(context.Response.StatusCode, "InternalError", "injected failure of the fake API server"));
            return;
        }

        if (continueToken is not null)
        {
            var parts = continueToken.Split(':');
            if (parts.Length != 2 || !_listSnapshots.TryGetValue(parts[0], out snapshot) || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out offset))
            {
                context.Response.StatusCode = StatusCodes.Status410Gone;
                await context.Response.Body.WriteAsync(Status(410, "Expired", "the provided continue parameter is too old"));
                return;
            }
        }

        var items = snapshot.Items ?? [];
        var count = Math.Min(limit is > 0 ? limit.Value : int.MaxValue, items.Length - offset);
        string? next = null;
        if (offset + count < items.Length)
        {
            var id = continueToken?.Split(':')[0] ?? Guid.NewGuid().ToString("N");
            _listSnapshots[id] = snapshot;
            next = $"{id}:{offset + count}";
        }

        var metadata = new JsonObject { ["resourceVersion"] = snapshot.ResourceVersion.ToString(CultureInfo.InvariantCulture) };
        if (next is not null)
        {
            metadata["continue"] = next;
        }

        var body = context.Response.Body;
        await body.WriteAsync(Encoding.UTF8.GetBytes($"{{\"apiVersion\":\"{ApiVersion}\",\"kind\":\"HardwareList\",\"metadata\":{metadata.ToJsonString()},\"items\":["));
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                await body.WriteAsync(","u8.ToArray());
            }

            await body.WriteAsync(items[offset + i]);
        }

        await body.WriteAsync("]}"u8.ToArray());
    }

    private async Task WatchAsync(HttpContext context, string? @namespace, string? resourceVersionText, bool bookmarks)
    {
        context.Response.ContentType = "application/json";
        var from = long.TryParse(resourceVersionText, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        var watch = new OpenWatch(context, @namespace, bookmarks, from);
        lock (_lock)
        {
            if (from < _compactedBefore)
            {
                watch.Lines.Writer.TryWrite(GoneLine(from));
                watch.Lines.Writer.TryComplete();
            }
            else
            {
                // Registered under the lock that records changes, so nothing falls between the replay and the stream.
                foreach (var (resourceVersion, ns, line) in _history)
                {
                    if (resourceVersion > from && (@namespace is null || ns == @namespace))
                    {
                        watch.Lines.Writer.TryWrite(line);
                    }
                }

                _watches.Add(watch);
            }
        }

        try
        {
            // The real server sends the headers at once; the client waits for them, then for the first line.
            await context.Response.StartAsync(context.RequestAborted);
            await foreach (var line in watch.Lines.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.Body.WriteAsync(line, context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client went away, or the test dropped the connection.
        }
        finally
        {
            lock (_lock)
            {
                _watches.Remove(watch);
            }
        }
    }

    private sealed class OpenWatch(HttpContext context, string? @namespace, bool bookmarks, long resourceVersion)
    {
        public HttpContext Context { get; } = context;

        public string? Namespace { get; } = @namespace;

        public bool Bookmarks { get; } = bookmarks;

        public long ResourceVersion { get; } = resourceVersion;

        public Channel<byte[]> Lines { get; } = Channel.CreateUnbounded<byte[]>();
    }
}
