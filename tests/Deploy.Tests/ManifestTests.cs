using System.Globalization;
using System.Xml.Linq;
using IsoCluster.Gateway.Hosting;
using IsoCluster.Grains.Admin;
using IsoCluster.Grains.Health;
using IsoCluster.Grains.Hosting;
using IsoCluster.Grains.SourceIso;
using k8s.Models;

namespace IsoCluster.Deploy.Tests;

/// <summary>
/// What an operator applies (<c>kubectl apply -k deploy/overlays/&lt;name&gt;</c>), rendered and typed, then checked
/// against itself and against the code: selectors, ports, probe paths, flags, environment names, RBAC, rollout and
/// shutdown timing, memory, and the container images the projects build.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ManifestTests
{
    private const string Silo = "isocluster-silo";
    private const string Gateway = "isocluster-gateway";
    private const long Overhead = 200L * 1024 * 1024;

    // The downward-API variables the silo reads (ClusterSettings, IsoClusterClusteringExtensions, the silo's start log).
    private static readonly string[] DownwardApiVariables = ["POD_NAME", "POD_NAMESPACE", "POD_IP"];

    private static readonly string[] SiloHostFlags = ["urls"];

    public static TheoryData<string> Overlays()
    {
        var data = new TheoryData<string>();
        foreach (var overlay in RenderedDeployment.Overlays)
        {
            data.Add(overlay);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Render_Overlay_HoldsEveryPartInItsNamespace(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        Assert.Equal(
            ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Deployment", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler",
                "Namespace", "PodDisruptionBudget", "PodDisruptionBudget", "Service", "Service", "ServiceAccount", "ServiceAccount", "StatefulSet"],
            deployment.Objects.Select(o => o.Kind).Order(StringComparer.Ordinal));
        foreach (var item in deployment.Objects.OfType<k8s.IKubernetesObject<V1ObjectMeta>>())
        {
            if (item is not (V1Namespace or V1ClusterRole or V1ClusterRoleBinding))
            {
                Assert.Equal("isocluster", item.Metadata.NamespaceProperty);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Selectors_WorkloadsServicesAndBudgets_MatchPodLabels(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);
        var templates = deployment.PodTemplates().ToList();

        foreach (var (workload, template, selector) in templates)
        {
            Assert.True(Selects(selector.MatchLabels, template.Metadata.Labels), $"{workload}: its selector does not match its pods");
        }

        foreach (var service in deployment.All<V1Service>())
        {
            Assert.Single(templates, t => Selects(service.Spec.Selector, t.Template.Metadata.Labels));
        }

        foreach (var budget in deployment.All<V1PodDisruptionBudget>())
        {
            Assert.Single(templates, t => Selects(budget.Spec.Selector.MatchLabels, t.Template.Metadata.Labels));
        }

        foreach (var autoscaler in deployment.All<V2HorizontalPodAutoscaler>())
        {
            Assert.Equal("Deployment", autoscaler.Spec.ScaleTargetRef.Kind);
            Assert.NotNull(deployment.Get<V1Deployment>(autoscaler.Spec.ScaleTargetRef.Name));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Services_TargetPortsThePodsDeclare_GatewayOnTinkerbellsPorts(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        foreach (var service in deployment.All<V1Service>())
        {
            var template = deployment.PodTemplates().Single(t => Selects(service.Spec.Selector, t.Template.Metadata.Labels)).Template;
            var portNames = template.Spec.Containers.SelectMany(c => c.Ports).Select(p => p.Name).ToHashSet();
            Assert.All(service.Spec.Ports, port => Assert.Contains(port.TargetPort.Value, portNames));
        }

        var gateway = deployment.Get<V1Service>(Gateway);
        Assert.Equal("LoadBalancer", gateway.Spec.Type);
        Assert.Equal([7080, 7443], gateway.Spec.Ports.Select(p => p.Port).Order());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Probes_HealthPathsOnAPortTheProcessListensOn(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        foreach (var name in new[] { Silo, Gateway })
        {
            var container = deployment.Get<V1Deployment>(name).Spec.Template.Spec.Containers.Single();
            var listening = ListeningPorts(container);
            foreach (var (probe, path) in new[] { (container.StartupProbe, "/health/startup"), (container.ReadinessProbe, "/health/ready"), (container.LivenessProbe, "/health/live") })
            {
                Assert.NotNull(probe?.HttpGet);
                Assert.Equal(path, probe.HttpGet.Path);
                var port = container.Ports.Single(p => p.Name == probe.HttpGet.Port.Value).ContainerPort;
                Assert.Contains(port, listening);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Metrics_ScrapedOnTheAdminListener_WhichTheBmcServiceDoesNotCarry(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        // A silo's admin listener is its one HTTP listener; a gateway's is --admin-urls, never one of its BMC --urls.
        foreach (var (name, flag) in new[] { (Silo, "--urls"), (Gateway, "--admin-urls") })
        {
            var template = deployment.Get<V1Deployment>(name).Spec.Template;
            var container = template.Spec.Containers.Single();
            var annotations = template.Metadata.Annotations ?? new Dictionary<string, string>();
            Assert.Equal("true", annotations["prometheus.io/scrape"]);
            Assert.Equal(AdminEndpoints.MetricsPath, annotations["prometheus.io/path"]);
            var port = int.Parse(annotations["prometheus.io/port"], CultureInfo.InvariantCulture);
            Assert.Contains(port, Ports(container, flag));
            Assert.Contains(container.Ports, p => p.ContainerPort == port);
            if (name == Gateway)
            {
                Assert.DoesNotContain(port, Ports(container, "--urls"));
                var admin = container.Ports.Single(p => p.ContainerPort == port).Name;
                Assert.DoesNotContain(deployment.Get<V1Service>(Gateway).Spec.Ports, p => p.TargetPort.Value == admin || p.TargetPort.Value == Invariant(port));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task ContainerArgs_AreFlagsTheProgramsKnow(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        var silo = CommandLine.Parse(Container(deployment, Silo).Args.ToList(), SiloSettings.All, SiloHostFlags);
        var gateway = CommandLine.Parse(Container(deployment, Gateway).Args.ToList(), GatewaySettings.All, GatewaySettings.HostFlags);

        Assert.Empty(silo.Errors);
        Assert.Empty(gateway.Errors);
        Assert.Equal("client", gateway.Values["Gateway:Mode"]);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Environment_EveryNameIsOneTheCodeReads(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);
        var known = GatewaySettings.All.Select(s => s.ConfigKey.Replace(":", "__", StringComparison.Ordinal)).Concat(DownwardApiVariables).ToHashSet(StringComparer.OrdinalIgnoreCase);

        var settings = deployment.Get<V1ConfigMap>("isocluster-settings");
        Assert.All(settings.Data.Keys, key => Assert.Contains(key, known));
        foreach (var name in new[] { Silo, Gateway })
        {
            var container = Container(deployment, name);
            Assert.All(container.Env ?? [], variable => Assert.Contains(variable.Name, known));
            Assert.All(container.EnvFrom, source => Assert.Equal(settings.Metadata.Name, source.ConfigMapRef.Name));
        }

        var silo = Container(deployment, Silo);
        Assert.Equal(DownwardApiVariables, silo.Env.Select(e => e.Name));
        Assert.Equal(["metadata.name", "metadata.namespace", "status.podIP"], silo.Env.Select(e => e.ValueFrom.FieldRef.FieldPath));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Rbac_SilosMayReadHardwareAndNothingElse(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        var role = Assert.Single(deployment.All<V1ClusterRole>());
        var rule = Assert.Single(role.Rules);
        Assert.Equal(["tinkerbell.org"], rule.ApiGroups);
        Assert.Equal(["hardware"], rule.Resources);
        Assert.Equal(["get", "list", "watch"], rule.Verbs);
        Assert.Empty(deployment.All<V1Role>());

        var binding = Assert.Single(deployment.All<V1ClusterRoleBinding>());
        Assert.Equal(role.Metadata.Name, binding.RoleRef.Name);
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(deployment.Get<V1Deployment>(Silo).Spec.Template.Spec.ServiceAccountName, subject.Name);

        // The gateway calls no Kubernetes API, so it gets no token at all.
        Assert.False(deployment.Get<V1Deployment>(Gateway).Spec.Template.Spec.AutomountServiceAccountToken);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Rollout_SurgeBeforeRemoving_GraceOutlivesTheShutdown(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        var silo = deployment.Get<V1Deployment>(Silo);
        Assert.Equal("0", silo.Spec.Strategy.RollingUpdate.MaxUnavailable.Value);
        Assert.Equal("1", silo.Spec.Strategy.RollingUpdate.MaxSurge.Value);
        Assert.True(silo.Spec.MinReadySeconds > 0);
        foreach (var name in new[] { Silo, Gateway })
        {
            var workload = deployment.Get<V1Deployment>(name);
            var args = CommandLine.Parse(workload.Spec.Template.Spec.Containers.Single().Args.ToList(), GatewaySettings.All, GatewaySettings.HostFlags).Values;
            var defaults = new ShutdownOptions();
            var delay = args.TryGetValue("Host:ShutdownDelay", out var d) ? TimeSpan.Parse(d!, CultureInfo.InvariantCulture) : defaults.ShutdownDelay;
            var drain = args.TryGetValue("Host:DrainTimeout", out var t) ? TimeSpan.Parse(t!, CultureInfo.InvariantCulture) : defaults.DrainTimeout;
            Assert.True(
                workload.Spec.Template.Spec.TerminationGracePeriodSeconds > (delay + drain).TotalSeconds,
                $"{name}: terminationGracePeriodSeconds must exceed --shutdown-delay + --drain-timeout ({(delay + drain).TotalSeconds} s)");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task SiloMemory_RequestCoversTheCachePlusOverhead(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        Assert.True(ByteSize.TryParse(deployment.Get<V1ConfigMap>("isocluster-settings").Data["Cache__Size"], out var cache));
        var resources = Container(deployment, Silo).Resources;
        var request = resources.Requests["memory"].ToInt64();
        var limit = resources.Limits["memory"].ToInt64();
        Assert.True(request >= cache.Bytes + Overhead, $"silo memory request {request} is less than Cache__Size {cache} + 200 MiB");
        Assert.True(limit >= request);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Containers_NonRootWithReadOnlyRoot(string overlay)
    {
        var deployment = await RenderedDeployment.RenderAsync(overlay);

        foreach (var (workload, template, _) in deployment.PodTemplates())
        {
            Assert.True(template.Spec.SecurityContext.RunAsNonRoot, $"{workload} may run as root");
            foreach (var container in template.Spec.Containers)
            {
                Assert.True(container.SecurityContext.ReadOnlyRootFilesystem, $"{workload}/{container.Name} has a writable root");
                Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
            }
        }
    }

    [Theory]
    [InlineData(Silo, "src/Silo/IsoCluster.Silo.csproj")]
    [InlineData(Gateway, "src/Gateway/IsoCluster.Gateway.csproj")]
    public async Task Images_MatchTheProjectsContainerSettings(string workload, string project)
    {
        var csproj = XDocument.Load(Path.Combine(Repository.Root, project));
        var repository = csproj.Descendants("ContainerRepository").Single().Value;
        var user = long.Parse(csproj.Descendants("ContainerUser").Single().Value, CultureInfo.InvariantCulture);
        var ports = csproj.Descendants("ContainerPort").Select(p => int.Parse(p.Attribute("Include")!.Value, CultureInfo.InvariantCulture)).Order();

        foreach (var overlay in RenderedDeployment.Overlays)
        {
            var deployment = await RenderedDeployment.RenderAsync(overlay);
            var template = deployment.Get<V1Deployment>(workload).Spec.Template;
            var container = template.Spec.Containers.Single();
            var kustomization = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "deploy", "overlays", overlay, "kustomization.yaml"));
            Assert.True(
                container.Image == $"{repository}:latest" || kustomization.Contains($"name: {repository}", StringComparison.Ordinal),
                $"{overlay}: {workload} runs '{container.Image}', not the image the project builds ({repository})");
            Assert.Equal(user, template.Spec.SecurityContext.RunAsUser);
            Assert.Equal(ports, container.Ports.Select(p => p.ContainerPort).Order());
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static V1Container Container(RenderedDeployment deployment, string workload) =>
        deployment.Get<V1Deployment>(workload).Spec.Template.Spec.Containers.Single();

    private static bool Selects(IDictionary<string, string>? selector, IDictionary<string, string> labels) =>
        selector is { Count: > 0 } && selector.All(pair => labels.TryGetValue(pair.Key, out var value) && value == pair.Value);

    private static HashSet<int> ListeningPorts(V1Container container) => [.. Ports(container, "--urls"), .. Ports(container, "--admin-urls")];

    // The ports of one ';'-separated address flag, or none when the container does not give it.
    private static IEnumerable<int> Ports(V1Container container, string flag)
    {
        var args = container.Args.ToList();
        var at = args.IndexOf(flag);
        return at < 0
            ? []
            : args[at + 1].Split(';').Select(url => new Uri(url.Replace("0.0.0.0", "host", StringComparison.Ordinal)).Port);
    }
}
