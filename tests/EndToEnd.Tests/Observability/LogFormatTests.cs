using IsoCluster.Gateway.Hosting;
using IsoCluster.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IsoCluster.EndToEnd.Tests.Observability;

/// <summary><c>--log-format</c> is ASP.NET Core's console formatter name, checked at start like every other setting.</summary>
public sealed class LogFormatTests
{
    [Theory]
    [InlineData("json")]
    [InlineData("simple")]
    [InlineData("systemd")]
    public async Task LogFormat_Known_PassesTheStartCheckAsTheConsoleFormatterName(string format)
    {
        await using var app = GatewayApplication.Create(["--log-format", format, "--admin-urls=", "--urls", "http://127.0.0.1:0"]);

        app.Services.GetRequiredService<IStartupValidator>().Validate();

        Assert.Equal(format, app.Configuration["Logging:Console:FormatterName"]);
    }

    [Fact]
    public async Task LogFormat_Unknown_StopsTheStartNamingTheFlag()
    {
        await using var app = GatewayApplication.Create(["--log-format", "xml", "--admin-urls=", "--urls", "http://127.0.0.1:0"]);

        var error = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(
            "--log-format (Logging:Console:FormatterName) must be simple, json or systemd, is 'xml'",
            StartupErrors.Describe(error, GatewaySettings.All));
    }
}
