using System.Net;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Tests.Hardware;
using IsoCluster.Grains.Upstream;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Tests.Upstream;

/// <summary>
/// DESIGN invariant 6 after DNS: a client source's host is resolved and every address checked at connect time, with a
/// resolver the tests control, so "public-looking" names can be made to resolve to anything.
/// </summary>
public sealed class UpstreamAddressGuardTests
{
    private static readonly Uri Url = new("http://mirror.example/hook/hook.iso?X-Amz-Signature=secret");

    [Theory]
    [InlineData("127.0.0.1", "a loopback address")]
    [InlineData("169.254.169.254", "the cloud metadata address")]
    [InlineData("fe80::1", "a link-local address")]
    [InlineData("10.0.0.5", "a private address")]
    [InlineData("0.0.0.0", "the unspecified address")]
    [InlineData("::ffff:127.0.0.1", "a loopback address")]
    public async Task CheckAsync_NameResolvingToNonPublicAddress_IsRefusedNamingHostAndClass(string address, string described)
    {
        var logger = new ListLogger<UpstreamAddressGuard>();
        var guard = Create(logger, Resolve(address));

        var refused = await Assert.ThrowsAsync<UpstreamAddressRefusedException>(() => guard.CheckAsync("mirror.example", Url, CancellationToken.None));

        Assert.Contains("'mirror.example'", refused.Message, StringComparison.Ordinal);
        Assert.Contains(described, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(IPAddress.Parse(address).ToString(), refused.Message, StringComparison.Ordinal);
        var warning = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("http://mirror.example/hook/hook.iso", warning.Message, StringComparison.Ordinal);
        Assert.Contains(AddressClasses.Canonical(IPAddress.Parse(address)).ToString(), warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_NameResolvingToPublicAddress_IsPermitted()
    {
        var guard = Create(NullLogger.Instance, Resolve("93.184.215.14"));

        var permitted = await guard.CheckAsync("mirror.example", Url, CancellationToken.None);

        Assert.Equal([IPAddress.Parse("93.184.215.14")], permitted);
    }

    [Fact]
    public async Task CheckAsync_PublicAndLoopbackAnswers_ConnectsOnlyToThePublicOne()
    {
        // A rebinding DNS server may answer both, hoping the connection falls back to the second.
        var logger = new ListLogger<UpstreamAddressGuard>();
        var guard = Create(logger, Resolve("127.0.0.1", "93.184.215.14", "169.254.169.254"));

        var permitted = await guard.CheckAsync("mirror.example", Url, CancellationToken.None);

        Assert.Equal([IPAddress.Parse("93.184.215.14")], permitted);
        Assert.Equal(2, logger.Entries.Count(entry => entry.Level == LogLevel.Debug && entry.Message.Contains("skipping", StringComparison.Ordinal)));
        Assert.DoesNotContain(logger.Entries, entry => entry.Level >= LogLevel.Warning);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("127.0.0.0/8", "127.0.0.53")]
    [InlineData("10.0.0.0/8", "10.20.30.40")]
    [InlineData("fd00::/8", "fd00::1234")]
    [InlineData("127.0.0.1", "::ffff:127.0.0.1")]
    public async Task CheckAsync_AddressInAllowedBlock_IsPermitted(string allowed, string address)
    {
        var guard = Create(NullLogger.Instance, Resolve(address), allowAddress: [allowed]);

        var permitted = await guard.CheckAsync("mirror.example", Url, CancellationToken.None);

        Assert.Equal([AddressClasses.Canonical(IPAddress.Parse(address))], permitted);
    }

    [Fact]
    public async Task CheckAsync_AllowedBlock_DoesNotAdmitOtherNonPublicAddresses()
    {
        var guard = Create(NullLogger.Instance, Resolve("169.254.169.254"), allowAddress: ["10.0.0.0/8", "127.0.0.1"]);

        await Assert.ThrowsAsync<UpstreamAddressRefusedException>(() => guard.CheckAsync("mirror.example", Url, CancellationToken.None));
    }

    [Fact]
    public async Task CheckAsync_AddressLiteralNamedByAnAllowPrefix_IsPermittedForItselfOnly()
    {
        // The operator wrote the address into --iso-source-allow, so a URL naming it is allowed; a name that resolves
        // there is not, and neither is another literal.
        var guard = Create(NullLogger.Instance, Resolve("127.0.0.1"), allowPrefixes: ["http://127.0.0.1:8080/isos/", "http://[fd00::1]/isos/"]);

        Assert.Equal([IPAddress.Loopback], await guard.CheckAsync("127.0.0.1", null, CancellationToken.None));
        Assert.Equal([IPAddress.Parse("fd00::1")], await guard.CheckAsync("fd00::1", null, CancellationToken.None));
        Assert.Equal([IPAddress.Parse("fd00::1")], await guard.CheckAsync("[fd00::1]", null, CancellationToken.None));
        await Assert.ThrowsAsync<UpstreamAddressRefusedException>(() => guard.CheckAsync("mirror.example", Url, CancellationToken.None));
        await Assert.ThrowsAsync<UpstreamAddressRefusedException>(() => guard.CheckAsync("127.0.0.2", null, CancellationToken.None));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData(" 10.0.0.0/8 ", true)]
    [InlineData("fd00::/8", true)]
    [InlineData("::1", true)]
    [InlineData("10.1.0.0/8", false)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("localhost", false)]
    [InlineData("http://127.0.0.1/", false)]
    [InlineData("", false)]
    public void TryParseNetwork_AddressOrCidr_IsAccepted(string text, bool expected)
    {
        Assert.Equal(expected, UpstreamAddressGuard.TryParseNetwork(text, out _, out var reason));
        Assert.Equal(expected, reason.Length == 0);
    }

    [Fact]
    public void TryParseNetwork_BitsPastPrefix_IsRefusedShowingTheBlockItWouldAllow()
    {
        Assert.False(UpstreamAddressGuard.TryParseNetwork("10.1.0.0/8", out _, out var reason));

        Assert.Contains("10.0.0.0/8", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void IsoOptionsValidator_BadAllowedAddresses_NamesTheSettingForEach()
    {
        var options = new IsoOptions();
        options.SourceAllowAddress.Add("10.1.0.0/8");
        options.SourceAllowAddress.Add("localhost");
        options.SourceAllow.Add("10.0.0.0/8");

        var result = new IsoCluster.Grains.Hosting.IsoOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToArray();
        Assert.Equal(2, failures.Count(f => f.StartsWith("--iso-source-allow-address (Iso:SourceAllowAddress): ", StringComparison.Ordinal)));
        Assert.Contains(failures, f => f.StartsWith("--iso-source-allow (Iso:SourceAllow)", StringComparison.Ordinal) && f.Contains("belongs in --iso-source-allow-address", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UpstreamClient_OperatorFetchedSameHostFirst_ClientSourceStillCheckedNotPooled()
    {
        // Connections are pooled by host and port. An operator source may use localhost; if its pooled connection
        // were shared with client sources, the client fetch below would reuse it and skip the address check.
        await using var upstream = await UpstreamServer.StartAsync();
        upstream.SetFile("hook.iso", IsoImageBuilder.Filler(4096, seed: 3));
        var localhostUrl = $"http://localhost:{upstream.BaseAddress.Port}/files/hook.iso";
        var options = new IsoOptions();
        options.SourceAllow.Add($"http://localhost:{upstream.BaseAddress.Port}/files/");
        using var client = UpstreamClients.Create(NullLogger<UpstreamClient>.Instance, isoOptions: options);

        var operatorProbe = await client.ProbeAsync(new IsoSource(localhostUrl, IsoSourceOrigin.Operator), retry: true, CancellationToken.None);
        var seenByOperator = upstream.Requests.Count;
        var clientProbe = await client.ProbeAsync(new IsoSource(localhostUrl, IsoSourceOrigin.Client), retry: true, CancellationToken.None);

        Assert.Equal(UpstreamStatus.Ok, operatorProbe.Status);
        Assert.Equal(UpstreamStatus.AddressRefused, clientProbe.Status);
        Assert.Contains("'localhost' resolves to a loopback address", clientProbe.Reason, StringComparison.Ordinal);

        // On a loaded machine the operator probe may have been retried; the client probe added nothing.
        Assert.Equal(seenByOperator, upstream.Requests.Count);
    }

    private static Func<string, CancellationToken, Task<IPAddress[]>> Resolve(params string[] addresses) =>
        (_, _) => Task.FromResult(addresses.Select(IPAddress.Parse).ToArray());

    private static UpstreamAddressGuard Create(
        ILogger logger, Func<string, CancellationToken, Task<IPAddress[]>> resolve, string[]? allowAddress = null, string[]? allowPrefixes = null)
    {
        var options = new IsoOptions();
        foreach (var entry in allowAddress ?? [])
        {
            options.SourceAllowAddress.Add(entry);
        }

        foreach (var prefix in allowPrefixes ?? ["http://mirror.example/hook/"])
        {
            options.SourceAllow.Add(prefix);
        }

        return new UpstreamAddressGuard(Options.Create(options), logger, resolve);
    }
}
