using System.Diagnostics.Metrics;
using IsoCluster.Grains.Upstream;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace IsoCluster.Grains.Telemetry;

/// <summary>
/// Metrics (Prometheus text at <c>/metrics</c> on the admin listener, see <see cref="Admin.AdminEndpoints"/>), traces over
/// OTLP when the standard <c>OTEL_*</c> variables ask for them, and the console log format; for gateways and silos alike.
/// </summary>
public static class TelemetryServiceCollectionExtensions
{
    /// <summary>Every IsoCluster meter: <c>IsoCluster.Gateway</c> and <c>IsoCluster.Grains</c>.</summary>
    public const string IsoClusterMeters = "IsoCluster.*";

    /// <summary>Orleans' own meter (messaging, activations, membership, ...).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>Orleans' trace source for grain calls (its runtime source only adds system-target chatter).</summary>
    public const string OrleansGrainCallSource = "Microsoft.Orleans.Application";

    // Of ASP.NET Core's meters, Kestrel's (connections, TLS handshakes) only. Hosting's per-request meter
    // (http.server.request.duration) cost about 58 B of garbage per 64 KiB range read in bench/IsoCluster.Benchmarks
    // (RequestPath: 126 B with it, 68 B without, as much as bare Kestrel), and routing's counts a match attempt on every
    // ISO request; the gateway counts its requests by status itself.
    private static readonly string[] AspNetCoreMeters = ["Microsoft.AspNetCore.Server.Kestrel"];

    // Tag combinations kept per metric stream (see OnlyThisHost).
    private const int StreamCardinality = 200;

    /// <summary>
    /// Registers the meter provider (IsoCluster, Orleans, Kestrel, HttpClient and runtime meters, read by the
    /// Prometheus exporter), the tracer provider when <see cref="TracingSettings"/> turn tracing on, and the check of
    /// <c>--log-format</c>.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The host's configuration (the <c>OTEL_*</c> variables and <c>Logging:Console</c>).</param>
    /// <param name="serviceName">The <c>service.name</c> unless <c>OTEL_SERVICE_NAME</c> names another.</param>
    public static IServiceCollection AddIsoClusterTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<LogFormatOptions>().Bind(configuration.GetSection(LogFormatOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LogFormatOptions>, LogFormatOptionsValidator>();

        // The slim host (the silo's) registers its console logger as AddSimpleConsole, which pins the simple format over
        // configuration; the operator's choice is put back on top. Read from configuration, not the validated options: the
        // logger is built before the start check, which reports a bad value naming the flag.
        services.Configure<ConsoleLoggerOptions>(console =>
        {
            if (configuration[$"{LogFormatOptions.SectionName}:{nameof(LogFormatOptions.FormatterName)}"] is { } name && LogFormatOptionsValidator.IsKnown(name))
            {
                console.FormatterName = name.ToLowerInvariant();
            }
        });

        // The JSON formatter writes no time unless told, and a collector merging many pods' lines needs one.
        services.PostConfigure<JsonConsoleFormatterOptions>(json =>
        {
            if (json.TimestampFormat is null)
            {
                json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                json.UseUtcTimestamp = true;
            }
        });

        var tracing = TracingSettings.From(configuration);
        services.AddSingleton(tracing);
        var name = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } configured ? configured : serviceName;
        var telemetry = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(name));
        telemetry.WithMetrics(metrics => metrics
            .AddMeter(IsoClusterMeters, OrleansMeter)
            .AddMeter(AspNetCoreMeters)
            .AddHttpClientInstrumentation()
            .AddRuntimeInstrumentation()

            // Every scrape reads the counters as they are: Prometheus scrapes seconds apart, where the exporter's default
            // 300 ms response cache saves nothing, and an operator's curl right after a read should see it.
            .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) => metrics.AddView(OnlyThisHost(provider.GetRequiredService<IMeterFactory>())));

        if (tracing.Enabled)
        {
            // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS and the sampler variables itself.
            telemetry.WithTracing(traces => traces
                .AddSource(UpstreamMetrics.ActivitySource.Name, OrleansGrainCallSource)
                .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = IsTraced)
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }

        return services;
    }

    /// <summary>Carries the trace context through grain calls when tracing is on; nothing otherwise.</summary>
    public static ISiloBuilder AddIsoClusterTracing(this ISiloBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The filters would run on every grain call even with nobody listening, so they are added only when needed.
        return TracingSettings.From(configuration).Enabled ? builder.AddActivityPropagation() : builder;
    }

    /// <summary>Carries the trace context into the grains a client-mode gateway calls, when tracing is on.</summary>
    public static IClientBuilder AddIsoClusterTracing(this IClientBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return TracingSettings.From(configuration).Enabled ? builder.AddActivityPropagation() : builder;
    }

    // Probes and scrapes every few seconds would drown the BMC reads in a trace view.
    private static bool IsTraced(HttpContext context) =>
        !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal)
        && !context.Request.Path.StartsWithSegments(Admin.AdminEndpoints.MetricsPath, StringComparison.Ordinal);

    // A meter listener hears every meter of its name in the process. One process is one host in production, but tests
    // run several gateways side by side, each of which must report only its own requests: meters made by another host's
    // IMeterFactory are dropped. Meters without a factory (the runtime's, Orleans' static ones) are the process's own.
    //
    // Every stream kept is capped at StreamCardinality tag combinations rather than the SDK's 2,000: the SDK allocates
    // a stream's points up front, 2,000 of them about 144 KiB, which over the ~150 streams of a process was 20 MiB held
    // for series that have a few dozen combinations at most (statuses, outcomes, upstream hosts). Past the cap the SDK
    // adds to one overflow series (otel_metric_overflow="true") instead of dropping the measurement.
    private static Func<Instrument, MetricStreamConfiguration?> OnlyThisHost(IMeterFactory own) =>
        instrument => instrument.Meter.Scope is IMeterFactory scope && !ReferenceEquals(scope, own)
            ? MetricStreamConfiguration.Drop
            : new MetricStreamConfiguration { CardinalityLimit = StreamCardinality };
}
