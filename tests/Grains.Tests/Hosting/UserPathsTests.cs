using IsoCluster.Grains.Hosting;
using Microsoft.Extensions.Configuration;

namespace IsoCluster.Grains.Tests.Hosting;

public sealed class UserPathsTests
{
    private static readonly Setting[] Settings =
    [
        new("hardware-file", "Hardware:File", SettingKind.Path, "none", ""),
        new("iso-upstream-url", "Iso:UpstreamUrl", SettingKind.UrlOrPath, "none", ""),
        new("syslog-host", "Boot:SyslogHost", SettingKind.Value, "empty", ""),
    ];

    [Theory]
    [InlineData("hw.yaml", "/home/op/hw.yaml")]
    [InlineData("./examples/../hw.yaml", "/home/op/hw.yaml")]
    [InlineData("../hw.yaml", "/home/hw.yaml")]
    [InlineData("/etc/isocluster/hw.yaml", "/etc/isocluster/hw.yaml")]
    public void Resolve_PathSetting_MeansTheDirectoryTheCommandRanFrom(string given, string expected)
    {
        var configuration = Configuration(("Hardware:File", given));

        UserPaths.Resolve(configuration, Settings, "/home/op");

        Assert.Equal(expected, configuration["Hardware:File"]);
    }

    [Theory]
    [InlineData("http://images.example/hook.iso", "http://images.example/hook.iso")]
    [InlineData("https://images.example/hook.iso?sig=x", "https://images.example/hook.iso?sig=x")]
    [InlineData("file:///srv/hook.iso", "file:///srv/hook.iso")]
    [InlineData("artifacts/hook.iso", "/home/op/artifacts/hook.iso")]
    [InlineData("/srv/hook.iso", "/srv/hook.iso")]
    public void Resolve_UrlOrPathSetting_ResolvesOnlyPaths(string given, string expected)
    {
        var configuration = Configuration(("Iso:UpstreamUrl", given));

        UserPaths.Resolve(configuration, Settings, "/home/op");

        Assert.Equal(expected, configuration["Iso:UpstreamUrl"]);
    }

    [Fact]
    public void Resolve_NonPathSettingsAndUnsetPaths_AreLeftAlone()
    {
        var configuration = Configuration(("Boot:SyslogHost", "logs"));

        UserPaths.Resolve(configuration, Settings, "/home/op");

        Assert.Equal("logs", configuration["Boot:SyslogHost"]);
        Assert.Null(configuration["Hardware:File"]);
    }

    [Theory]
    [InlineData("http://x", true)]
    [InlineData("svn+ssh://x", true)]
    [InlineData("file:///x", true)]
    [InlineData("dir/with://colon", false)]
    [InlineData("1http://x", false)]
    [InlineData("hook.iso", false)]
    [InlineData("://x", false)]
    public void LooksLikeUrl_SchemeThenSlashes_IsAUrl(string value, bool expected)
    {
        Assert.Equal(expected, UserPaths.LooksLikeUrl(value));
    }

    private static ConfigurationManager Configuration(params (string Key, string Value)[] values)
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)));
        return configuration;
    }
}
