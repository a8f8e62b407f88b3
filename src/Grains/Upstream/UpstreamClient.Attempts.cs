using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using IsoCluster.Grains.SourceIso;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// One attempt of a fetch: a slot, a request under an <see cref="UpstreamWatchdog"/>, the answer checked by
/// <see cref="UpstreamResponseCheck"/> before a byte of it is used, and every failure turned into a value that says
/// whether a retry may help.
/// </summary>
public sealed partial class UpstreamClient
{
    private const int SkipBufferSize = 64 * 1024;

    private static async Task FillAsync(Stream stream, Memory<byte> destination, UpstreamWatchdog watchdog)
    {
        var filled = 0;
        while (filled < destination.Length)
        {
            var read = await stream.ReadAsync(destination[filled..], watchdog.Token);
            if (read == 0)
            {
                throw new EndOfStreamException();
            }

            filled += read;
            watchdog.Progress();
        }
    }

    private static async Task SkipAsync(Stream stream, long count, UpstreamWatchdog watchdog)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(SkipBufferSize);
        try
        {
            while (count > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), watchdog.Token);
                if (read == 0)
                {
                    throw new EndOfStreamException();
                }

                count -= read;
                watchdog.Progress();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<UpstreamRead> ReadOnceAsync(Fetch fetch, CancellationToken cancellationToken)
    {
        fetch.Attempts++;
        var version = fetch.Version!;
        var offset = fetch.Offset;
        var end = offset + fetch.Length - 1;
        var (lease, busy) = await AcquireSlotAsync(fetch, cancellationToken);
        if (lease is null)
        {
            return busy;
        }

        using (lease)
        using (var watchdog = new UpstreamWatchdog(_options.StallTimeout, _options.Timeout, _time, cancellationToken))
        {
            try
            {
                var (response, failure) = await SendAsync(
                    version.Source,
                    request =>
                    {
                        request.Headers.Range = new RangeHeaderValue(offset, end);
                        AddValidators(request, version);
                    },
                    watchdog);
                if (response is null)
                {
                    return failure;
                }

                using (response)
                {
                    if (UpstreamResponseCheck.CheckChunk(response, version, offset, end) is { } wrong)
                    {
                        return wrong;
                    }

                    var stream = await response.Content.ReadAsStreamAsync(watchdog.Token);
                    await using (stream)
                    {
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            // No range support: the body is the whole ISO, so skip to the window and drop the rest.
                            await SkipAsync(stream, offset, watchdog);
                        }

                        await FillAsync(stream, fetch.Destination, watchdog);
                        return UpstreamRead.Ok;
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && watchdog.Expired($"reading {fetch.What}") is { } expired)
            {
                return expired;
            }
            catch (EndOfStreamException)
            {
                return new(UpstreamStatus.BadResponse, $"body ended before byte {end}", Transient: true);
            }
            catch (IOException ex)
            {
                return new(UpstreamStatus.Unreachable, $"connection broke while reading {fetch.What}: {ex.Message}", Transient: true);
            }
            catch (HttpRequestException ex)
            {
                return new(UpstreamStatus.Unreachable, $"reading {fetch.What} failed: {ex.Message}", UpstreamResponseCheck.IsTransient(ex));
            }
        }
    }

    private async Task<UpstreamProbe> ProbeOnceAsync(Fetch fetch, CancellationToken cancellationToken)
    {
        fetch.Attempts++;
        var source = fetch.Source;
        var (lease, busy) = await AcquireSlotAsync(fetch, cancellationToken);
        if (lease is null)
        {
            return Failure(busy);
        }

        using (lease)
        using (var watchdog = new UpstreamWatchdog(_options.StallTimeout, _options.Timeout, _time, cancellationToken))
        {
            try
            {
                var (response, failure) = await SendAsync(source, static request => request.Headers.Range = new RangeHeaderValue(0, 0), watchdog);
                if (response is null)
                {
                    return Failure(failure);
                }

                using (response)
                {
                    var etag = response.Headers.ETag?.ToString();
                    var lastModified = response.Content.Headers.LastModified;
                    if (response.StatusCode == HttpStatusCode.PartialContent)
                    {
                        var range = response.Content.Headers.ContentRange;
                        if (range?.Length is not long length || range.From != 0)
                        {
                            return Failure(new(UpstreamStatus.BadResponse, $"206 without a usable Content-Range ('{range}')"));
                        }

                        return new UpstreamProbe(UpstreamStatus.Ok, length, etag, lastModified, RangeSupported: true, null);
                    }

                    if (response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentLength is long fullLength)
                    {
                        return new UpstreamProbe(UpstreamStatus.Ok, fullLength, etag, lastModified, RangeSupported: false, null);
                    }

                    // An empty file answers a range request with 416 and Content-Range: bytes */0.
                    if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && response.Content.Headers.ContentRange?.Length == 0)
                    {
                        return new UpstreamProbe(UpstreamStatus.Ok, 0, etag, lastModified, RangeSupported: true, null);
                    }

                    return Failure(new(UpstreamStatus.BadResponse, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", UpstreamResponseCheck.IsTransient(response.StatusCode)));
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && watchdog.Expired($"reading {fetch.What}") is { } expired)
            {
                return Failure(expired);
            }
            catch (IOException ex)
            {
                return Failure(new(UpstreamStatus.Unreachable, $"connection broke while reading {fetch.What}: {ex.Message}", Transient: true));
            }
            catch (HttpRequestException ex)
            {
                return Failure(new(UpstreamStatus.Unreachable, $"reading {fetch.What} failed: {ex.Message}", UpstreamResponseCheck.IsTransient(ex)));
            }
        }
    }

    private static UpstreamProbe Failure(UpstreamRead failure) => new(failure.Status, 0, null, null, false, failure.Reason, failure.Transient);
}
