using Microsoft.Extensions.Configuration;

namespace IsoCluster.Grains.Telemetry;

/// <summary>
/// Whether traces are exported, decided once at start from OpenTelemetry's standard variables (read through
/// configuration, so the environment, appsettings and tests all work).
/// </summary>
/// <remarks>
/// Off unless an OTLP endpoint is named (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>),
/// and off again with <c>OTEL_SDK_DISABLED=true</c> or <c>OTEL_TRACES_EXPORTER=none</c>. When off, nothing listens to any
/// activity source and Orleans gets no propagation filters, so a request starts no Activity at all: ASP.NET Core's
/// hosting makes one per request as soon as anything listens, measured at 0.6 KiB of garbage per 64 KiB range read
/// (see <c>LoggingDefaults</c>).
/// </remarks>
public sealed record TracingSettings(bool Enabled)
{
    /// <summary>Reads the OpenTelemetry variables from <paramref name="configuration"/>.</summary>
    public static TracingSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var disabled = string.Equals(configuration["OTEL_SDK_DISABLED"], "true", StringComparison.OrdinalIgnoreCase)
            || string.Equals(configuration["OTEL_TRACES_EXPORTER"], "none", StringComparison.OrdinalIgnoreCase);
        var endpoint = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
            || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        return new TracingSettings(endpoint && !disabled);
    }
}
