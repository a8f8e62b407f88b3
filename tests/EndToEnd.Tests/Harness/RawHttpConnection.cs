using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace IsoCluster.EndToEnd.Tests.Harness;

/// <summary>One HTTP/1.1 response as read off the wire, or why it is not one.</summary>
/// <param name="StatusCode">The status code; 0 when the status line did not parse.</param>
/// <param name="Headers">The header fields in order, names as sent.</param>
/// <param name="Body">The body: exactly Content-Length bytes (none for HEAD, 1xx, 204 and 304).</param>
/// <param name="Problem">What makes the response invalid HTTP/1.1, or null.</param>
public sealed record RawHttpResponse(int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, string? Problem)
{
    /// <summary>The value of the only field named <paramref name="name"/>, or null (also when repeated).</summary>
    public string? Header(string name)
    {
        string? found = null;
        foreach (var (key, value) in Headers)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                if (found is not null)
                {
                    return null;
                }

                found = value;
            }
        }

        return found;
    }

    /// <summary>Whether the server said it closes the connection after this response.</summary>
    public bool Closes => Header("Connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;
}

/// <summary>
/// A TCP connection that sends arbitrary bytes (invalid HTTP included, which HttpClient would refuse to send) and reads
/// responses with a strict HTTP/1.1 parser: status line, CRLF-terminated header fields, at most one Content-Length,
/// and a body of exactly that length (RFC 9112 §6.3), so a response that lies about its length shows up. A chunked
/// body is decoded and its framing checked too; whether chunking is acceptable is the caller's call.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private const int MaxHeaderBytes = 64 * 1024;

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpConnection(Socket socket) => _socket = socket;

    /// <summary>Connects to <paramref name="baseAddress"/>'s host and port.</summary>
    public static async Task<RawHttpConnection> OpenAsync(Uri baseAddress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(baseAddress.Host, baseAddress.Port, cancellationToken);
            return new RawHttpConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="bytes"/> as they are. False when the server has already closed the connection.</summary>
    public async Task<bool> SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            while (!bytes.IsEmpty)
            {
                var sent = await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
                bytes = bytes[sent..];
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads one response; a 1xx interim response is skipped. Null when the server closed the connection (or reset it)
    /// before sending anything.
    /// </summary>
    /// <param name="head">Whether the request was HEAD, whose response has no body whatever its Content-Length.</param>
    /// <param name="cancellationToken">Gives up.</param>
    public async Task<RawHttpResponse?> ReadResponseAsync(bool head, CancellationToken cancellationToken)
    {
        while (true)
        {
            var headerEnd = await FillUntilHeaderEndAsync(cancellationToken);
            if (headerEnd < 0)
            {
                return _end == _start ? null : Invalid($"the connection ended inside the header block: {Show(_buffer.AsSpan(_start, _end - _start))}");
            }

            var block = Encoding.Latin1.GetString(_buffer, _start, headerEnd - _start);
            _start = headerEnd + 4;
            var response = ParseHead(block);
            if (response.Problem is not null)
            {
                return response;
            }

            if (response.StatusCode is >= 100 and < 200)
            {
                continue;
            }

            var hasBody = !head && response.StatusCode is not (204 or 304);
            var lengths = response.Headers.Where(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToArray();
            var codings = response.Headers.Where(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToArray();
            if (codings.Length > 0)
            {
                if (codings is not ["chunked"] || lengths.Length > 0)
                {
                    return response with { Problem = $"Transfer-Encoding '{string.Join(", ", codings)}' (with {lengths.Length} Content-Length)" };
                }

                return hasBody ? await ReadChunkedAsync(response, cancellationToken) : response;
            }

            if (lengths.Length > 1)
            {
                return response with { Problem = $"{lengths.Length} Content-Length fields" };
            }

            if (lengths.Length == 0)
            {
                // RFC 9112 §6.3: without a length the body runs to the close, which an HTTPFS client cannot use.
                return hasBody ? response with { Problem = "no Content-Length" } : response;
            }

            if (!long.TryParse(lengths[0], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return response with { Problem = $"Content-Length '{lengths[0]}' is not a number" };
            }

            if (!hasBody)
            {
                return response;
            }

            var body = new byte[length];
            var filled = 0;
            while (filled < length)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    return response with { Body = body[..filled], Problem = $"the body ended after {filled} of {length} bytes (Content-Length)" };
                }

                var take = (int)Math.Min(length - filled, _end - _start);
                _buffer.AsSpan(_start, take).CopyTo(body.AsSpan(filled));
                _start += take;
                filled += take;
            }

            return response with { Body = body };
        }
    }

    // RFC 9112 §7.1: chunk-size in hex, CRLF, the data, CRLF; a zero-size chunk, optional trailer fields, CRLF.
    private async Task<RawHttpResponse> ReadChunkedAsync(RawHttpResponse response, CancellationToken cancellationToken)
    {
        var body = new List<byte>();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line is null || !int.TryParse(line.Split(';')[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0)
            {
                return response with { Body = [.. body], Problem = $"bad chunk-size line '{line}'" };
            }

            if (size == 0)
            {
                while (await ReadLineAsync(cancellationToken) is { Length: > 0 })
                {
                }

                return response with { Body = [.. body] };
            }

            for (var left = size; left > 0;)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    return response with { Body = [.. body], Problem = "the connection ended inside a chunk" };
                }

                var take = Math.Min(left, _end - _start);
                body.AddRange(_buffer.AsSpan(_start, take));
                _start += take;
                left -= take;
            }

            if (await ReadLineAsync(cancellationToken) is not "")
            {
                return response with { Body = [.. body], Problem = "chunk data not followed by CRLF" };
            }
        }
    }

    // One CRLF-terminated line, or null at the end of the stream.
    private async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (end >= 0)
            {
                var line = Encoding.Latin1.GetString(_buffer, _start, end);
                _start += end + 2;
                return line;
            }

            if (!await FillAsync(cancellationToken))
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Ends the request side and reads to the server's close. Returns what the server sent after the last response it
    /// framed (for a correct server: nothing), or null if it did not close within <paramref name="timeout"/>.
    /// </summary>
    public async Task<byte[]?> FinishAsync(TimeSpan timeout)
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }

        using var cts = new CancellationTokenSource(timeout);
        var extra = new List<byte>(_buffer.AsSpan(_start, _end - _start).ToArray());
        _start = _end = 0;
        try
        {
            while (await FillAsync(cts.Token))
            {
                extra.AddRange(_buffer.AsSpan(_start, _end - _start).ToArray());
                _start = _end = 0;
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        return [.. extra];
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Bytes for a failure message: printable ASCII as is, the rest escaped, at most 300 of them.</summary>
    public static string Show(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder();
        foreach (var b in bytes[..Math.Min(bytes.Length, 300)])
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }

        return bytes.Length > 300 ? $"{text}… ({bytes.Length} bytes)" : text.ToString();
    }

    private static RawHttpResponse Invalid(string problem) => new(0, [], [], problem);

    // RFC 9112 §4 (status-line = HTTP-version SP status-code SP [ reason-phrase ]) and §5 (field lines, no obs-fold).
    private static RawHttpResponse ParseHead(string block)
    {
        var lines = block.Split("\r\n");
        var statusLine = lines[0];
        if (!statusLine.StartsWith("HTTP/1.1 ", StringComparison.Ordinal)
            || statusLine.Length < 12
            || !int.TryParse(statusLine.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var status)
            || (statusLine.Length > 12 && statusLine[12] != ' ')
            || status < 100)
        {
            return Invalid($"bad status line '{statusLine}'");
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line.AsSpan(0, colon).ContainsAny(" \t") || line.Contains('\n', StringComparison.Ordinal) || line.Contains('\r', StringComparison.Ordinal))
            {
                return new RawHttpResponse(status, headers, [], $"bad header line '{line}'");
            }

            headers.Add(new(line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }

        return new RawHttpResponse(status, headers, [], null);
    }

    // The absolute index of the CRLFCRLF ending the header block, or -1 at the end of the stream or past the cap.
    private async Task<int> FillUntilHeaderEndAsync(CancellationToken cancellationToken)
    {
        var searched = 0;
        while (true)
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            var end = pending[searched..].IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return _start + searched + end;
            }

            // Offsets stay relative to _start, which a fill may move.
            searched = Math.Max(0, pending.Length - 3);
            if (pending.Length >= MaxHeaderBytes || !await FillAsync(cancellationToken))
            {
                return -1;
            }
        }
    }

    // Appends what the socket has to the buffer; false at the end of the stream (or a reset).
    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            return false;
        }

        try
        {
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
            _end += read;
            return read > 0;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
