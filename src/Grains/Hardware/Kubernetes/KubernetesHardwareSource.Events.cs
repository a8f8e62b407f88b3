using System.Diagnostics;
using System.Net;
using System.Text.Json;
using IsoCluster.Grains.Machines;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;

namespace IsoCluster.Grains.Hardware.Kubernetes;

/// <summary>The list and the watch, and how their objects change the snapshot.</summary>
public sealed partial class KubernetesHardwareSource
{
    /// <summary>Lists every Hardware object (in pages) and replaces the snapshot with them; returns the list's resource version.</summary>
    private async Task<string> ListAsync(IKubernetes client, CancellationToken stopping)
    {
        var started = _time.GetTimestamp();
        var previous = _snapshot;
        var edit = (previous ?? HardwareSnapshot.Empty).Edit();
        edit.Clear();
        string? resourceVersion = null;
        string? continueToken = null;
        var items = 0;
        var skipped = 0;
        do
        {
            // One JSON document per page, read item by item: deserializing each item on its own costs a copy of it.
            using var page = string.IsNullOrEmpty(_options.Namespace)
                ? await client.CustomObjects.ListClusterCustomObjectAsync<JsonDocument>(
                    Group, Version, Plural, continueParameter: continueToken, limit: _options.ListPageSize, cancellationToken: stopping)
                : await client.CustomObjects.ListNamespacedCustomObjectAsync<JsonDocument>(
                    Group, Version, _options.Namespace, Plural, continueParameter: continueToken, limit: _options.ListPageSize, cancellationToken: stopping);

            // Every page of one list is read at the first page's resource version; the watch resumes from it.
            var list = page.RootElement;
            resourceVersion ??= ListMetadata(list, "resourceVersion");
            if (list.ValueKind == JsonValueKind.Object && list.TryGetProperty("items", out var listed) && listed.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in listed.EnumerateArray())
                {
                    items++;
                    if (!Upsert(edit, item, "list"))
                    {
                        skipped++;
                    }
                }
            }

            continueToken = ListMetadata(list, "continue");
        }
        while (continueToken is not null);

        if (string.IsNullOrEmpty(resourceVersion))
        {
            throw new InvalidDataException("the Hardware list has no metadata.resourceVersion to watch from");
        }

        edit.SetResourceVersion(resourceVersion);
        Publish(edit);
        _lastError = null;
        var snapshot = _snapshot!;
        var elapsed = _time.GetElapsedTime(started);
        LogListed(_logger, snapshot.ObjectCount, snapshot.MachineCount, skipped, resourceVersion, elapsed, previous is null ? "first list" : "relist");
        Debug.Assert(items >= snapshot.ObjectCount, "every object held came from the list");
        return resourceVersion;
    }

    private static string? ListMetadata(JsonElement list, string field) =>
        list.ValueKind == JsonValueKind.Object
        && list.TryGetProperty("metadata", out var metadata)
        && metadata.ValueKind == JsonValueKind.Object
        && metadata.TryGetProperty(field, out var value)
        && value.ValueKind == JsonValueKind.String
        && value.GetString() is { Length: > 0 } text
            ? text
            : null;

    /// <summary>Watches from <paramref name="resourceVersion"/> until the watch ends, applying each event as it comes.</summary>
    private async Task<WatchResult> WatchAsync(IKubernetes client, string resourceVersion, CancellationToken stopping)
    {
        var result = new WatchResult(resourceVersion);
        var timeoutSeconds = Random.Shared.Next(MinWatchSeconds, MaxWatchSeconds);
        using var watchEnded = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        using var watchdog = _time.CreateTimer(EndWatch, watchEnded, TimeSpan.FromSeconds(timeoutSeconds) + WatchGrace, Timeout.InfiniteTimeSpan);

        // KubernetesClient hands an ERROR event (a Status object) to onError rather than to the loop, and keeps
        // reading; the real server closes the watch after it, but ending it here does not rely on that.
        void OnError(Exception ex)
        {
            switch (ex)
            {
                case KubernetesException { Status.Code: (int)HttpStatusCode.Gone } gone:
                    result.Gone = true;
                    result.Reason = $"410 Gone: {gone.Status.Message}";
                    break;
                case KubernetesException status:
                    result.Reason = $"the API server ended the watch: {status.Status.Code} {status.Status.Reason}: {status.Status.Message}";
                    break;
                default:
                    // An event that cannot be read may have been a change: only a list can say what is true now.
                    result.Gone = true;
                    result.Reason = $"a watch event could not be read: {ex.Message}";
                    break;
            }

            watchEnded.Cancel();
        }

        var events = string.IsNullOrEmpty(_options.Namespace)
            ? client.CustomObjects.WatchListClusterCustomObjectAsync(
                Group, Version, Plural, allowWatchBookmarks: true, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: OnError, cancellationToken: watchEnded.Token)
            : client.CustomObjects.WatchListNamespacedCustomObjectAsync(
                Group, Version, _options.Namespace, Plural, allowWatchBookmarks: true, resourceVersion: resourceVersion, timeoutSeconds: timeoutSeconds, onError: OnError, cancellationToken: watchEnded.Token);
        try
        {
            await foreach (var (type, item) in events.WithCancellation(watchEnded.Token))
            {
                result.Progressed = true;
                if (!Apply(type, item, result))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            // Ended by OnError (its result says why) or by the watchdog (a closed watch: resume).
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Gone)
        {
            // Some servers refuse a too-old resource version with a plain 410 rather than an ERROR event.
            result.Gone = true;
            result.Reason = DescribeFailure(ex);
        }
        catch (Exception ex) when (IsApiFailure(ex) && !stopping.IsCancellationRequested)
        {
            // A dropped connection or a refused request: the events applied so far stand, and the watch resumes
            // from the last of them.
            result.Reason = DescribeFailure(ex);
        }

        return result;
    }

    private static void EndWatch(object? watchEnded)
    {
        try
        {
            ((CancellationTokenSource)watchEnded!).Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The watch ended on its own as the timer fired.
        }
    }

    /// <summary>Applies one watch event; false when the watch cannot go on.</summary>
    private bool Apply(WatchEventType type, object? item, WatchResult result)
    {
        if (item is not JsonElement { ValueKind: JsonValueKind.Object } json)
        {
            result.Gone = true;
            result.Reason = $"a {type} event carried no object";
            return false;
        }

        var edit = _snapshot!.Edit();
        switch (type)
        {
            case WatchEventType.Added or WatchEventType.Modified:
                Upsert(edit, json, "watch event");
                break;
            case WatchEventType.Deleted:
                if (HardwareJson.ReadKey(json) is { } key && edit.Remove(key))
                {
                    LogDeleted(_logger, key.Namespace, key.Name);
                }

                break;
            case WatchEventType.Bookmark:
                break;
            default:
                result.Gone = true;
                result.Reason = $"an {type} event";
                return false;
        }

        // A bookmark's object holds only its resource version; every other event's is the object's own.
        if (HardwareJson.ReadResourceVersion(json) is { } resourceVersion)
        {
            edit.SetResourceVersion(resourceVersion);
            result.ResourceVersion = resourceVersion;
        }

        Publish(edit);
        return true;
    }

    /// <summary>Adds or replaces one object, or, when it is invalid, logs why and removes it; false when invalid.</summary>
    private bool Upsert(HardwareSnapshot.Editor edit, JsonElement item, string location)
    {
        var key = HardwareJson.ReadKey(item);
        if (item.ValueKind != JsonValueKind.Object)
        {
            LogSkipped(_logger, "", "", $"{SourceName}: {location}: expected a Hardware object, found {item.ValueKind}");
            return false;
        }

        var parsed = HardwareDocumentParser.ParseObject(HardwareJson.ToYaml(item), SourceName, location, _pool);
        if (parsed.IsValid && key is { } valid)
        {
            // The key held for 100,000 objects reuses the machine's (pooled) strings rather than its own copies.
            edit.Upsert(parsed.Machines.IsEmpty ? valid : HardwareKey.Of(parsed.Machines[0]), parsed.Machines);
            return true;
        }

        var removed = key is { } known && edit.Remove(known);
        LogSkipped(_logger, key?.Namespace ?? "", key?.Name ?? "", string.Join("; ", parsed.Errors) + (removed ? " (its previous version no longer boots)" : ""));
        return false;
    }

    // Logged before the swap, so whoever sees the change can also see why.
    private void Publish(HardwareSnapshot.Editor edit)
    {
        var next = edit.Commit();
        foreach (var conflict in edit.NewConflicts)
        {
            var claimants = Describe(conflict.Claimants);
            LogMacConflict(_logger, conflict.Mac, claimants);
        }

        foreach (var (mac, owner) in edit.Resolved)
        {
            LogMacConflictResolved(_logger, mac, owner);
        }

        _snapshot = next;
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information,
        Message = "Hardware {Kind}: {HardwareCount} objects, {MachineCount} machines ({SkippedCount} objects skipped as invalid) at resource version {ResourceVersion}, in {Elapsed}")]
    private static partial void LogListed(ILogger logger, int hardwareCount, int machineCount, int skippedCount, string resourceVersion, TimeSpan elapsed, string kind);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning,
        Message = "Skipping Hardware {Namespace}/{Name}, which cannot boot as written: {Problems}")]
    private static partial void LogSkipped(ILogger logger, string @namespace, string name, string problems);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning,
        Message = "MAC {Mac} is claimed by Hardware {Claimants}; none of them boots until only one has it")]
    private static partial void LogMacConflict(ILogger logger, MacAddress mac, string claimants);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Information,
        Message = "MAC {Mac} boots as Hardware '{Owner}' again: the other claimants let go of it")]
    private static partial void LogMacConflictResolved(ILogger logger, MacAddress mac, HardwareKey owner);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Debug, Message = "Hardware {Namespace}/{Name} deleted")]
    private static partial void LogDeleted(ILogger logger, string @namespace, string name);

    /// <summary>How one watch ended.</summary>
    private sealed class WatchResult(string resourceVersion)
    {
        /// <summary>The resource version to resume from: the last event's or bookmark's.</summary>
        public string ResourceVersion { get; set; } = resourceVersion;

        /// <summary>Whether any event arrived.</summary>
        public bool Progressed { get; set; }

        /// <summary>Whether only a new list can go on (410 Gone, or an event that could not be read).</summary>
        public bool Gone { get; set; }

        /// <summary>Why the watch ended, when it did not simply close.</summary>
        public string? Reason { get; set; }
    }
}
