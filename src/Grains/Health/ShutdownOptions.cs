namespace IsoCluster.Grains.Health;

/// <summary>How a process stops (configuration section <c>Host</c>).</summary>
public sealed class ShutdownOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Host";

    /// <summary>
    /// After SIGTERM, how long the process keeps serving while reporting not-ready, so a load balancer stops sending
    /// it new connections before it stops listening. Default: 0 (set a few seconds behind a Kubernetes Service).
    /// </summary>
    public TimeSpan ShutdownDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The longest in-flight responses (and, on a silo, grain deactivation) may take to finish after SIGTERM before
    /// the process exits anyway. Default: 20 s.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);
}
