using k8s;

namespace IsoCluster.Grains.Hardware.Kubernetes;

/// <summary>Finds how to reach the API server, turning every failure into a startup error naming the flag.</summary>
internal static class KubernetesConnection
{
    /// <summary>
    /// The client configuration: from <see cref="HardwareOptions.Kubeconfig"/> when given; else the pod's service
    /// account inside a pod; else <c>KUBECONFIG</c> or <c>~/.kube/config</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">None of them can be used; the message names the flag.</exception>
    public static KubernetesClientConfiguration Configure(HardwareOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrEmpty(options.Kubeconfig))
        {
            return Build(
                () => KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig),
                $"--kubeconfig (Hardware:Kubeconfig): '{options.Kubeconfig}' cannot be used");
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            return Build(
                KubernetesClientConfiguration.InClusterConfig,
                "--hardware-source kubernetes (Hardware:Source): the pod's service account cannot be read; give --kubeconfig (Hardware:Kubeconfig)");
        }

        if (DefaultKubeconfig() is { } path)
        {
            return Build(
                KubernetesClientConfiguration.BuildDefaultConfig,
                $"--hardware-source kubernetes (Hardware:Source): the kubeconfig '{path}' cannot be used; give --kubeconfig (Hardware:Kubeconfig)");
        }

        // KubernetesClient's own fallback is http://localhost:8080, which would only fail later and less clearly.
        throw new InvalidOperationException(
            "--hardware-source kubernetes (Hardware:Source): not running in a pod and no kubeconfig found (KUBECONFIG, ~/.kube/config); give one with --kubeconfig (Hardware:Kubeconfig)");
    }

    /// <summary>The first existing file KubernetesClient's default configuration would read, or null.</summary>
    private static string? DefaultKubeconfig()
    {
        if (Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } variable)
        {
            foreach (var candidate in variable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var path = Path.Combine(home, ".kube", "config");
        return home.Length > 0 && File.Exists(path) ? path : null;
    }

    private static KubernetesClientConfiguration Build(Func<KubernetesClientConfiguration> build, string failure)
    {
        try
        {
            return build();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // KubernetesClient throws KubeConfigException, YAML, IO and certificate errors; all mean the same here.
            throw new InvalidOperationException($"{failure}: {ex.Message}", ex);
        }
    }
}
