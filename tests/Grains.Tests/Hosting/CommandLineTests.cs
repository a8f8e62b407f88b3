using IsoCluster.Grains.Hosting;

namespace IsoCluster.Grains.Tests.Hosting;

public sealed class CommandLineTests
{
    private static readonly string[] s_hostFlags = ["urls"];

    [Fact]
    public void Parse_BareSwitchLast_IsTrue()
    {
        var parsed = Parse("--hardware-file", "hw.yaml", "--iso-static-ipam-enabled");
        Assert.Empty(parsed.Errors);
        Assert.Equal("true", parsed.Values["Boot:StaticIpamEnabled"]);
        Assert.Equal("hw.yaml", parsed.Values["Hardware:File"]);
    }

    [Fact]
    public void Parse_BareSwitchBeforeAnotherFlag_DoesNotSwallowIt()
    {
        var parsed = Parse("--iso-static-ipam-enabled", "--syslog-host", "10.0.0.1");
        Assert.Empty(parsed.Errors);
        Assert.Equal("true", parsed.Values["Boot:StaticIpamEnabled"]);
        Assert.Equal("10.0.0.1", parsed.Values["Boot:SyslogHost"]);
    }

    [Theory]
    [InlineData("--tink-server-use-tls=false", "false")]
    [InlineData("--tink-server-use-tls=true", "true")]
    [InlineData("--tink-server-use-tls", "true")]
    public void Parse_SwitchForms_AreAccepted(string arg, string expected)
    {
        Assert.Equal(expected, Parse(arg).Values["Boot:TinkServerUseTls"]);
    }

    [Fact]
    public void Parse_SwitchWithBadValue_NamesTheFlag()
    {
        var error = Assert.Single(Parse("--tink-server-use-tls=yes").Errors);
        Assert.Contains("--tink-server-use-tls", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RepeatedListFlag_KeepsEveryValueInOrder()
    {
        var parsed = Parse("--iso-source-allow", "http://a/", "--iso-source-allow=http://b/");
        Assert.Equal("http://a/", parsed.Values["Iso:SourceAllow:0"]);
        Assert.Equal("http://b/", parsed.Values["Iso:SourceAllow:1"]);
    }

    [Fact]
    public void Parse_ValueStartingWithDashes_MustUseEqualsForm()
    {
        var parsed = Parse("--extra-kernel-args", "--syslog-host", "x");
        Assert.Contains(parsed.Errors, e => e.Contains("--extra-kernel-args needs a value", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ExtraArgsWithSpaces_IsOneValue()
    {
        Assert.Equal("k1=1 k2=2", Parse("--extra-kernel-args", "k1=1 k2=2").Values["Boot:ExtraKernelArgs"]);
    }

    [Fact]
    public void Parse_UnknownFlag_IsAnErrorNamingIt()
    {
        var error = Assert.Single(Parse("--hardware-flie", "x.yaml").Errors);
        Assert.Contains("--hardware-flie", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HostFlag_PassesThroughWithItsValue()
    {
        var parsed = Parse("--urls", "http://127.0.0.1:8080", "--help");
        Assert.Equal(["--urls", "http://127.0.0.1:8080"], parsed.PassThroughArgs);
        Assert.True(parsed.HelpRequested);
    }

    [Fact]
    public void Help_ListsEveryFlagWithItsDefault()
    {
        var help = CommandLine.Help("usage", SiloSettings.All);
        foreach (var setting in SiloSettings.All)
        {
            Assert.Contains($"--{setting.Flag}", help, StringComparison.Ordinal);
            Assert.Contains($"default: {setting.Default}", help, StringComparison.Ordinal);
        }
    }

    private static CommandLine Parse(params string[] args) => CommandLine.Parse(args, SiloSettings.All, s_hostFlags);
}
