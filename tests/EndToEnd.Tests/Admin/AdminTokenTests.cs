using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Options;

namespace IsoCluster.EndToEnd.Tests.Admin;

/// <summary>
/// The admin API's bearer token on a real embedded gateway: reading needs none, every call that changes something
/// needs the one in <c>--admin-token-file</c> (401 with a challenge otherwise, 403 when no file is configured), and the
/// API is served on the admin listener only.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AdminTokenTests : IAsyncLifetime
{
    private AdminTestBed _bed = null!;

    public async Task InitializeAsync() => _bed = await AdminTestBed.StartAsync();

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    [Theory]
    [InlineData("api/prewarm", null)]
    [InlineData("api/prewarm", "not-the-token")]
    [InlineData("api/purge", null)]
    [InlineData("api/purge", "not-the-token")]
    [InlineData("api/purge", AdminTestBed.Token + "x")]
    public async Task Post_WithoutTheToken_Returns401WithBearerChallengeAndChangesNothing(string path, string? token)
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var admin = AdminTestBed.AdminClient(gateway, token);
        _bed.Upstream.ClearRequests();

        using var response = await admin.PostAsJsonAsync(path, new { sourceIso = _bed.Upstream.Url(AdminTestBed.DefaultSourceName) });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Equal(token is not null, challenge.Parameter?.Contains("error=\"invalid_token\"", StringComparison.Ordinal) ?? false);
        Assert.Contains("--admin-token-file", await ErrorAsync(response), StringComparison.Ordinal);
        Assert.Empty(_bed.Upstream.Requests);
    }

    [Fact]
    public async Task Post_NoTokenFileConfigured_Returns403NamingTheSetting_ReadsStillWork()
    {
        await using var gateway = await _bed.StartGatewayAsync(withToken: false);
        using var admin = AdminTestBed.AdminClient(gateway, "anything");

        using var prewarm = await admin.PostAsJsonAsync("api/prewarm", new { sourceIso = (string?)null });
        using var explain = await admin.GetAsync(new Uri($"api/explain/{AdminTestBed.DefaultSourceMac}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, prewarm.StatusCode);
        Assert.Equal("admin API changes are off: no --admin-token-file", await ErrorAsync(prewarm));
        Assert.Equal(HttpStatusCode.OK, explain.StatusCode);
    }

    [Fact]
    public async Task Post_RightToken_Accepted_AndARotatedTokenFileTakesEffectWithoutRestart()
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var oldToken = AdminTestBed.AdminClient(gateway);
        using var newToken = AdminTestBed.AdminClient(gateway, "a-longer-rotated-token");
        var purge = new { sourceIso = _bed.Upstream.Url(AdminTestBed.DefaultSourceName) };

        using (var accepted = await oldToken.PostAsJsonAsync("api/purge", purge))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        await File.WriteAllTextAsync(_bed.TokenFile, "a-longer-rotated-token\n");

        using var refused = await oldToken.PostAsJsonAsync("api/purge", purge);
        using var rotated = await newToken.PostAsJsonAsync("api/purge", purge);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n\t ")]
    [InlineData(null)]
    public async Task Start_TokenFileEmptyOrMissing_FailsNamingTheSetting(string? content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"isocluster-token-{Guid.NewGuid():N}");
        if (content is not null)
        {
            await File.WriteAllTextAsync(path, content);
        }

        try
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => _bed.StartGatewayAsync(withToken: false, "--admin-token-file", path));
            Assert.StartsWith("--admin-token-file (Admin:TokenFile): ", Assert.Single(error.Failures), StringComparison.Ordinal);
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("POST", "api/prewarm")]
    [InlineData("POST", "api/purge")]
    [InlineData("GET", "api/explain/" + AdminTestBed.DefaultSourceMac)]
    [InlineData("GET", "api/cache")]
    public async Task AdminApi_OnTheBmcListener_Returns404(string method, string path)
    {
        await using var gateway = await _bed.StartGatewayAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new("Bearer", AdminTestBed.Token);
        if (method == "POST")
        {
            request.Content = JsonContent.Create(new { sourceIso = (string?)null });
        }

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;
    }
}
