using System.Diagnostics.Metrics;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Tests.Upstream;

/// <summary>Builds <see cref="UpstreamClient"/>s as a silo does, with the options a test needs.</summary>
internal static class UpstreamClients
{
    /// <summary>A client with <paramref name="options"/> (the defaults when null), logging to <paramref name="logger"/>.</summary>
    public static UpstreamClient Create(ILogger<UpstreamClient> logger, UpstreamOptions? options = null, IsoOptions? isoOptions = null) => new(
        Options.Create(options ?? new UpstreamOptions()),
        new UpstreamUrlPolicy(Options.Create(isoOptions ?? new IsoOptions())),
        new UpstreamAddressGuard(Options.Create(isoOptions ?? new IsoOptions()), NullLogger<UpstreamAddressGuard>.Instance),
        new FileUpstream(NullLogger<FileUpstream>.Instance),
        TimeProvider.System,
        new TestMeterFactory(),
        logger);

    // Meters are left to the garbage collector: a test client lives as long as its test.
    private sealed class TestMeterFactory : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
