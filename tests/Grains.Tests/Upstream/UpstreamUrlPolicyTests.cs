using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Tests.Upstream;

public sealed class UpstreamUrlPolicyTests
{
    private static readonly UpstreamUrlPolicy s_policy = Create("http://isos.example/hook/", "https://mirror.example:8443/images");

    [Theory]
    [InlineData("http://isos.example/hook/hook.iso", true)]
    [InlineData("http://ISOS.example/hook/v2/hook.iso", true)]
    [InlineData("https://mirror.example:8443/images/hook.iso", true)]
    [InlineData("https://mirror.example:8443/images", true)]
    [InlineData("https://mirror.example:8443/images-private/hook.iso", false)]
    [InlineData("https://mirror.example/images/hook.iso", false)]
    [InlineData("http://mirror.example:8443/images/hook.iso", false)]
    [InlineData("http://isos.example.attacker.net/hook/hook.iso", false)]
    [InlineData("http://isos.example/hook/../admin/secret.iso", false)]
    [InlineData("http://isos.example/hook/%2e%2e/admin/secret.iso", false)]
    [InlineData("http://isos.example/hook%2f..%2fadmin", false)]
    [InlineData("http://169.254.169.254/latest/meta-data", false)]
    public void IsAllowedForClient_MatchesOnlyParsedPrefixes(string url, bool expected)
    {
        Assert.Equal(expected, s_policy.IsAllowedForClient(new Uri(url)));
    }

    [Theory]
    [InlineData("ftp://isos.example/hook.iso")]
    [InlineData("file:///etc/passwd")]
    [InlineData("http://user:secret@isos.example/hook/hook.iso")]
    [InlineData("/relative/hook.iso")]
    [InlineData("")]
    public void TryParseHttpUrl_NonHttpOrCredentials_IsRefusedWithReason(string url)
    {
        Assert.False(UpstreamUrlPolicy.TryParseHttpUrl(url, out _, out var reason));
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void IsAllowedHop_OperatorSource_FollowsAnyHttpHop()
    {
        Assert.True(s_policy.IsAllowedHop(new Uri("https://cdn.elsewhere.example/x.iso"), IsoSourceOrigin.Operator, out _));
        Assert.False(s_policy.IsAllowedHop(new Uri("ftp://cdn.elsewhere.example/x.iso"), IsoSourceOrigin.Operator, out var reason));
        Assert.Contains("not http or https", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void IsAllowedHop_ClientSource_MustStayInAllowlist()
    {
        Assert.True(s_policy.IsAllowedHop(new Uri("http://isos.example/hook/v3.iso"), IsoSourceOrigin.Client, out _));
        Assert.False(s_policy.IsAllowedHop(new Uri("http://169.254.169.254/latest"), IsoSourceOrigin.Client, out var reason));
        Assert.Contains("--iso-source-allow", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://bucket.s3.example/hook.iso?X-Amz-Signature=secret", "https://bucket.s3.example/hook.iso?…")]
    [InlineData("http://user:pw@isos.example:8080/a/hook.iso", "http://isos.example:8080/a/hook.iso")]
    [InlineData("http://isos.example/hook.iso", "http://isos.example/hook.iso")]
    public void ForDisplay_DropsCredentialsAndQuery(string url, string expected)
    {
        Assert.Equal(expected, IsoSource.ForDisplay(url));
    }

    private static UpstreamUrlPolicy Create(params string[] prefixes)
    {
        var options = new IsoOptions();
        foreach (var prefix in prefixes)
        {
            options.SourceAllow.Add(prefix);
        }

        return new UpstreamUrlPolicy(Options.Create(options));
    }
}
