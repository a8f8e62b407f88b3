using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace IsoCluster.FleetBoot;

/// <summary>
/// One BMC booting: reads the whole ISO (or its first <c>readLength</c> bytes) once, front to back, in sequential
/// Range requests of one piece each, one at a time on a keep-alive connection, as HTTPFS virtual media does.
/// </summary>
internal sealed class BootClient
{
    private const int MaxErrorSamples = 5;

    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly long _length;
    private readonly long _readLength;
    private readonly int _pieceSize;
    private readonly ResponseVerifier _verifier;
    private readonly List<string> _errorSamples = [];

    /// <summary>
    /// A client that reads the first <paramref name="readLength"/> bytes of the <paramref name="length"/>-byte ISO at
    /// <paramref name="url"/>.
    /// </summary>
    public BootClient(HttpClient http, Uri url, long length, long readLength, int pieceSize, ResponseVerifier verifier)
    {
        _http = http;
        _url = url;
        _length = length;
        _readLength = readLength;
        _pieceSize = pieceSize;
        _verifier = verifier;
        Latencies = new long[RequestsPerBoot];
    }

    /// <summary>How many requests a whole boot takes.</summary>
    public int RequestsPerBoot => (int)((_readLength + _pieceSize - 1) / _pieceSize);

    /// <summary>Per request, from sending to the last body byte, in <see cref="Stopwatch"/> ticks; the first <see cref="Requests"/> are set.</summary>
    public long[] Latencies { get; }

    /// <summary>Requests answered (successfully or not) before the deadline.</summary>
    public int Requests { get; private set; }

    /// <summary>Body bytes received.</summary>
    public long Bytes { get; private set; }

    /// <summary>Requests with a wrong status, Content-Range, length or bytes, plus wrong patches found after the boot.</summary>
    public int Errors { get; private set; }

    /// <summary>The first few error messages.</summary>
    public IReadOnlyList<string> ErrorSamples => _errorSamples;

    /// <summary>Boots until done or until <paramref name="deadline"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken deadline)
    {
        var buffer = new byte[_pieceSize + 1];
        for (long offset = 0; offset < _readLength && !deadline.IsCancellationRequested; offset += _pieceSize)
        {
            var count = (int)Math.Min(_pieceSize, _readLength - offset);
            var started = Stopwatch.GetTimestamp();
            string? problem;
            try
            {
                problem = await ReadPieceAsync(offset, count, buffer, deadline);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                problem = $"{ex.GetType().Name}: {ex.Message}";
            }

            Latencies[Requests++] = Stopwatch.GetTimestamp() - started;
            if (problem is not null)
            {
                Fail(string.Create(CultureInfo.InvariantCulture, $"{_url} bytes={offset}-{offset + count - 1}: {problem}"));
            }
            else
            {
                Bytes += count;
            }
        }

        if (Requests == RequestsPerBoot)
        {
            foreach (var problem in _verifier.CheckPatches())
            {
                Fail(problem);
            }
        }
    }

    private async Task<string?> ReadPieceAsync(long offset, int count, byte[] buffer, CancellationToken deadline)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _url) { Version = HttpVersion.Version11 };
        request.Headers.Range = new RangeHeaderValue(offset, offset + count - 1);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline);
        var whole = offset == 0 && count == _length;
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            var range = response.Content.Headers.ContentRange;
            if (range?.From != offset || range.To != offset + count - 1 || range.Length != _length)
            {
                return $"206 with Content-Range '{range}'";
            }
        }
        else if (response.StatusCode != HttpStatusCode.OK || !whole)
        {
            return $"status {(int)response.StatusCode}";
        }

        await using var body = await response.Content.ReadAsStreamAsync(deadline);
        var received = 0;
        while (received < buffer.Length)
        {
            var read = await body.ReadAsync(buffer.AsMemory(received), deadline);
            if (read == 0)
            {
                break;
            }

            received += read;
        }

        return received != count
            ? string.Create(CultureInfo.InvariantCulture, $"body of {(received > count ? "more than " + count : received)} bytes, expected {count}")
            : _verifier.Check(offset, buffer.AsSpan(0, count));
    }

    private void Fail(string message)
    {
        Errors++;
        if (_errorSamples.Count < MaxErrorSamples)
        {
            _errorSamples.Add(message);
        }
    }
}
