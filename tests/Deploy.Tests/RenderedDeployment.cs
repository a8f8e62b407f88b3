using IsoCluster.TestSupport;
using k8s;
using k8s.Models;

namespace IsoCluster.Deploy.Tests;

/// <summary>
/// One overlay of <c>deploy/</c> as an operator would apply it: rendered by kustomize (<c>kubectl kustomize</c>) and
/// loaded with KubernetesClient's strict YAML loader into typed objects, so a misspelled field or a wrong type fails.
/// </summary>
public sealed class RenderedDeployment
{
    private RenderedDeployment(string overlay, IReadOnlyList<IKubernetesObject> objects)
    {
        Overlay = overlay;
        Objects = objects;
    }

    /// <summary>The overlay's folder name under <c>deploy/overlays</c>.</summary>
    public string Overlay { get; }

    /// <summary>Every object the overlay renders, in order.</summary>
    public IReadOnlyList<IKubernetesObject> Objects { get; }

    /// <summary>The overlays an operator can apply.</summary>
    public static IReadOnlyList<string> Overlays => [.. Directory.GetDirectories(Path.Combine(Repository.Root, "deploy", "overlays")).Select(Path.GetFileName).Order()!];

    /// <summary>Renders and loads <paramref name="overlay"/>.</summary>
    public static async Task<RenderedDeployment> RenderAsync(string overlay)
    {
        var directory = Path.Combine(Repository.Root, "deploy", "overlays", overlay);
        var result = await ToolProcess.RunAsync("kubectl", ["kustomize", directory], TimeSpan.FromMinutes(2), CancellationToken.None);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize {directory} failed ({result.ExitCode}): {result.StandardError}");
        }

        var objects = KubernetesYaml.LoadAllFromString(result.StandardOutput, typeMap: null, strict: true);
        return new RenderedDeployment(overlay, [.. objects.Cast<IKubernetesObject>()]);
    }

    /// <summary>The one object of type <typeparamref name="T"/> named <paramref name="name"/>.</summary>
    public T Get<T>(string name)
        where T : IKubernetesObject<V1ObjectMeta> =>
        All<T>().SingleOrDefault(o => o.Metadata.Name == name)
        ?? throw new InvalidOperationException($"{Overlay}: no {typeof(T).Name} named {name}");

    /// <summary>Every object of type <typeparamref name="T"/>.</summary>
    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    /// <summary>The Deployment or StatefulSet pod templates, by workload name.</summary>
    public IEnumerable<(string Workload, V1PodTemplateSpec Template, V1LabelSelector Selector)> PodTemplates() =>
        All<V1Deployment>().Select(d => (d.Metadata.Name, d.Spec.Template, d.Spec.Selector))
            .Concat(All<V1StatefulSet>().Select(s => (s.Metadata.Name, s.Spec.Template, s.Spec.Selector)));
}

/// <summary>The repository the tests were built from.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IsoCluster.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("IsoCluster.sln not found above the test binaries");
    }
}
