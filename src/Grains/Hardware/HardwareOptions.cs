namespace IsoCluster.Grains.Hardware;

/// <summary>Where Hardware objects come from (configuration section <c>Hardware</c>).</summary>
public sealed class HardwareOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Hardware";

    /// <summary>The <see cref="Source"/> that reads <see cref="File"/>.</summary>
    public const string FileSource = "file";

    /// <summary>The <see cref="Source"/> that lists and watches the Kubernetes API.</summary>
    public const string KubernetesSource = "kubernetes";

    /// <summary>
    /// Where Hardware comes from (<c>--hardware-source</c>): <c>file</c> (<see cref="File"/>) or <c>kubernetes</c>
    /// (list and watch <c>hardware.tinkerbell.org</c> objects through the API server). Default: file.
    /// </summary>
    public string Source { get; set; } = FileSource;

    /// <summary>
    /// A YAML file of Tinkerbell Hardware objects (multi-document or <c>kind: List</c>), re-read when it changes.
    /// Read only when <see cref="Source"/> is <c>file</c>. Default: none.
    /// </summary>
    public string? File { get; set; }

    /// <summary>How often the file's timestamp and size are checked for edits, as a backstop to file events. Default: 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The namespace whose Hardware objects are watched (<c>--hardware-namespace</c>), with the Kubernetes source.
    /// Default: empty, every namespace.
    /// </summary>
    public string? Namespace { get; set; }

    /// <summary>
    /// The kubeconfig file that reaches the API server (<c>--kubeconfig</c>), with the Kubernetes source. Default:
    /// the pod's service account inside a pod, else <c>KUBECONFIG</c> or <c>~/.kube/config</c>.
    /// </summary>
    public string? Kubeconfig { get; set; }

    /// <summary>
    /// How long the Kubernetes source waits before the first retry of a failed list or watch; each further failure
    /// doubles it, with jitter, up to <see cref="RetryMaxDelay"/>. Default: 0.5 s.
    /// </summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between retries of a failed list or watch. Default: 30 s.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many Hardware objects one list request asks for (<c>limit</c>; the rest follow with <c>continue</c>), so a
    /// large fleet is read in pieces rather than in one response held whole in memory. Default: 500, as kubectl and
    /// client-go's informers use.
    /// </summary>
    public int ListPageSize { get; set; } = 500;

    /// <summary>Whether <see cref="Source"/> names the Kubernetes source (in any case).</summary>
    internal bool UsesKubernetes => string.Equals(Source?.Trim(), KubernetesSource, StringComparison.OrdinalIgnoreCase);
}
