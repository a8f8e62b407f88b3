using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace IsoCluster.Cli.Api;

/// <summary>A failed admin call, with the one line to show: the server's own reason when it gave one.</summary>
public sealed class AdminApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AdminApiException(string message, HttpStatusCode? status = null, Exception? inner = null)
        : base(message, inner) => Status = status;

    /// <summary>The HTTP status the server answered, or null when it could not be reached.</summary>
    public HttpStatusCode? Status { get; }
}

/// <summary>
/// HTTP to one admin listener (a gateway's <c>--admin-urls</c> or a silo's <c>--urls</c>): JSON in and out, the bearer
/// token on calls that change something, and every failure turned into one <see cref="AdminApiException"/> line.
/// </summary>
public sealed class AdminApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _token;

    /// <summary>Creates a client for <paramref name="server"/>; <paramref name="token"/> is sent on POSTs.</summary>
    public AdminApiClient(Uri server, string? token, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        Server = server;
        _token = token;
        _http = new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: handler is null)
        {
            BaseAddress = server,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>The admin listener's address.</summary>
    public Uri Server { get; }

    /// <summary>The JSON the admin API speaks.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>GETs <paramref name="path"/> as JSON.</summary>
    public async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, Relative(path)), cancellationToken);
        return await ReadAsync<T>(response, path, cancellationToken);
    }

    /// <summary>GETs <paramref name="path"/> as text, whatever its status; null when the server has no such path (404).</summary>
    public async Task<(HttpStatusCode Status, string Body)> GetTextAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, Relative(path)), cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>POSTs <paramref name="body"/> as JSON to <paramref name="path"/>, with the bearer token, and reads the JSON answer.</summary>
    public async Task<T> PostAsync<T>(string path, object body, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Relative(path)) { Content = JsonContent.Create(body, options: Json) };
        if (_token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        using var response = await SendAsync(request, cancellationToken);
        return await ReadAsync<T>(response, path, cancellationToken);
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    private static Uri Relative(string path) => new(path.TrimStart('/'), UriKind.Relative);

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
            try
            {
                return await _http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                throw new AdminApiException($"cannot reach {Server}: {ex.Message}", inner: ex);
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new AdminApiException($"{Server} did not answer within {_http.Timeout.TotalSeconds:0} s", inner: ex);
            }
        }
    }

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, string path, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new AdminApiException($"{(int)response.StatusCode} {Reason(text, $"{response.ReasonPhrase} ({"/" + path.TrimStart('/')})")}", response.StatusCode);
        }

        try
        {
            return JsonSerializer.Deserialize<T>(text, Json) ?? throw new JsonException("the body is null");
        }
        catch (JsonException ex)
        {
            throw new AdminApiException($"{Server}{path.TrimStart('/')} answered something other than the expected JSON: {ex.Message}", response.StatusCode, ex);
        }
    }

    // The admin API answers {"error":"..."}; anything else (a proxy's page, plain text) is shown by its first line.
    private static string Reason(string body, string? reasonPhrase)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String)
            {
                return error.GetString() ?? "";
            }
        }
        catch (JsonException)
        {
        }

        var firstLine = body.AsSpan().Trim();
        var newline = firstLine.IndexOfAny('\r', '\n');
        return firstLine.Length == 0 ? reasonPhrase ?? "" : (newline < 0 ? firstLine : firstLine[..newline]).ToString();
    }
}
