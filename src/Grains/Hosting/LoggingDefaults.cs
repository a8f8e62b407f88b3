using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace IsoCluster.Grains.Hosting;

/// <summary>Log levels that suit a fleet boot, as the lowest-precedence configuration so operators can override them.</summary>
public static class LoggingDefaults
{
    // ASP.NET Core logs four Information lines per request; at ~3,000 range requests per boot that was a quarter of
    // the gateway's CPU in bench/fleet-boot.sh. Orleans' Information lines are start-up chatter.
    private static readonly Dictionary<string, string?> s_levels = new()
    {
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",

        // Its only lines are per request (Information and Debug), but while it is enabled at any level, hosting starts an
        // Activity and a log scope for every request: measured 0.6 KiB of garbage per 64 KiB range read.
        ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
        ["Logging:LogLevel:Orleans"] = "Warning",
        ["Logging:LogLevel:Polly"] = "Warning",
    };

    /// <summary>Puts the defaults beneath every other configuration source.</summary>
    public static void AddTo(IConfigurationBuilder configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = s_levels });
    }
}
