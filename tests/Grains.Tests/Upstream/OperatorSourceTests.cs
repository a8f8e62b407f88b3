using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Tests.Upstream;

/// <summary>
/// How an operator's source ISO (<c>--iso-upstream-url</c>, a Hardware's <c>isoboot.sourceISO</c>) is parsed: http(s)
/// as before, or a local file in one canonical <c>file:///</c> form whatever its spelling; and how a client's
/// <c>?sourceISO=</c> can never name a file (DESIGN invariant 6).
/// </summary>
public sealed class OperatorSourceTests
{
    [Theory]
    [InlineData("/srv/hook.iso")]
    [InlineData("file:///srv/hook.iso")]
    [InlineData("FILE:///srv/hook.iso")]
    [InlineData("file://localhost/srv/hook.iso")]
    [InlineData("file:/srv/hook.iso")]
    [InlineData("/srv/isos/../hook.iso")]
    [InlineData("/srv/./hook.iso")]
    [InlineData("//srv//hook.iso")]
    [InlineData("file:///srv/isos/%2E%2E/hook.iso")]
    public void TryParseOperatorSource_SpellingsOfOneFile_GiveOneCanonicalFileUrl(string text)
    {
        Assert.True(UpstreamUrlPolicy.TryParseOperatorSource(text, out var url, out var reason), reason);

        Assert.Equal("file:///srv/hook.iso", url);
        Assert.Equal("", reason);
    }

    [Theory]
    [InlineData("hook.iso")]
    [InlineData("./isos/../hook.iso")]
    [InlineData("isos/hook.iso")]
    [InlineData("./odd:name.iso")]
    public void TryParseOperatorSource_RelativePath_ResolvesAgainstCurrentDirectory(string text)
    {
        var expected = Path.GetFullPath(Path.Combine(Environment.CurrentDirectory, text));

        Assert.True(UpstreamUrlPolicy.TryParseOperatorSource(text, out var url, out var reason), reason);

        Assert.StartsWith("file:///", url, StringComparison.Ordinal);
        Assert.Equal(expected, IsoSource.LocalPathOf(url));
        Assert.True(UpstreamUrlPolicy.TryParseOperatorSource(expected, out var fromAbsolute, out _));
        Assert.Equal(fromAbsolute, url);
    }

    [Theory]
    [InlineData("/srv/hook os.iso")]
    [InlineData("/srv/hook#1.iso")]
    [InlineData("/srv/hook?.iso")]
    [InlineData("/srv/100%.iso")]
    [InlineData("/srv/hööк.iso")]
    [InlineData("/srv/a+b;c=d@e.iso")]
    public void TryParseOperatorSource_OddFileName_RoundTripsToSamePathAndUrl(string path)
    {
        Assert.True(UpstreamUrlPolicy.TryParseOperatorSource(path, out var url, out var reason), reason);

        Assert.Equal(path, IsoSource.LocalPathOf(url));
        Assert.Equal(path, new IsoSource(url, IsoSourceOrigin.Operator).DisplayUrl);
        Assert.True(UpstreamUrlPolicy.TryParseOperatorSource(url, out var again, out _));
        Assert.Equal(url, again);
    }

    [Theory]
    [InlineData("https://bucket.s3.example/hook.iso?X-Amz-Signature=secret")]
    [InlineData("http://isos.example:8080/a/hook.iso")]
    public void TryParseOperatorSource_HttpUrl_IsKeptAsWritten(string text)
    {
        Assert.True(UpstreamUrlPolicy.TryParseOperatorSource(text, out var url, out _));

        Assert.Equal(text, url);
        Assert.Null(IsoSource.LocalPathOf(url));
    }

    [Theory]
    [InlineData("ftp://isos.example/hook.iso", "not an http or https URL")]
    [InlineData("smb://isos.example/hook.iso", "not an http or https URL")]
    [InlineData("http://user:pw@isos.example/hook.iso", "user information")]
    [InlineData("file://srv/hook.iso", "names host 'srv'")]
    [InlineData("file:///srv/hook#1.iso", "%23")]
    [InlineData("file:///srv/hook.iso?v=2", "%3F")]
    [InlineData("file:hook.iso", "not a file URL")]
    [InlineData("/srv/hook\0.iso", "NUL")]
    [InlineData("file:///srv/hook%00.iso", "NUL")]
    [InlineData("", "no URL or path")]
    [InlineData("   ", "no URL or path")]
    public void TryParseOperatorSource_MalformedValue_IsRefusedWithReason(string text, string fragment)
    {
        Assert.False(UpstreamUrlPolicy.TryParseOperatorSource(text, out var url, out var reason));

        Assert.Equal("", url);
        Assert.Contains(fragment, reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("file:///etc/passwd")]
    [InlineData("file://localhost/etc/passwd")]
    [InlineData("etc/passwd")]
    [InlineData("../../etc/passwd")]
    public void TryParseHttpUrl_ClientNamingFile_IsRefused(string text)
    {
        // MachineGrain parses ?sourceISO= with TryParseHttpUrl only, so no allowlist can admit a file.
        Assert.False(UpstreamUrlPolicy.TryParseHttpUrl(text, out _, out var reason));
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void IsAllowedForClient_FilePrefixInAllowlist_StillRefusesFiles()
    {
        var options = new IsoOptions();
        options.SourceAllow.Add("file:///etc/");
        options.SourceAllow.Add("http://isos.example/");
        var policy = new UpstreamUrlPolicy(Options.Create(options));

        Assert.False(policy.IsAllowedForClient(new Uri("file:///etc/passwd")));
        Assert.False(policy.IsAllowedHop(new Uri("file:///etc/passwd"), IsoSourceOrigin.Client, out _));
        Assert.False(policy.IsAllowedHop(new Uri("file:///srv/hook.iso"), IsoSourceOrigin.Operator, out var reason));
        Assert.Contains("not http or https", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/srv/no-such-dir/hook.iso")]
    [InlineData("file:///srv/no-such-dir/hook.iso")]
    [InlineData("isos/not-there-yet.iso")]
    [InlineData("https://images.example/hook.iso")]
    public void Validate_UpstreamUrlIsPathOrUrl_SucceedsWithoutTheFileExisting(string value)
    {
        var result = new IsoOptionsValidator().Validate(null, new IsoOptions { UpstreamUrl = value });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData("ftp://images.example/hook.iso")]
    [InlineData("file://images.example/hook.iso")]
    [InlineData("http://user:pw@images.example/hook.iso")]
    public void Validate_UpstreamUrlMalformed_FailsNamingFlag(string value)
    {
        var result = new IsoOptionsValidator().Validate(null, new IsoOptions { UpstreamUrl = value });

        Assert.True(result.Failed);
        Assert.Contains("--iso-upstream-url (Iso:UpstreamUrl)", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/srv/isos/")]
    [InlineData("file:///srv/isos/")]
    public void Validate_SourceAllowNamesFiles_Fails(string prefix)
    {
        var options = new IsoOptions();
        options.SourceAllow.Add(prefix);

        var result = new IsoOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("--iso-source-allow (Iso:SourceAllow)", result.FailureMessage, StringComparison.Ordinal);
    }
}
