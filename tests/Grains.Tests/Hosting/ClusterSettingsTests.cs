using System.Net;
using IsoCluster.Grains.Hosting;
using Microsoft.Extensions.Configuration;

namespace IsoCluster.Grains.Tests.Hosting;

public sealed class ClusterSettingsTests
{
    [Fact]
    public void From_NothingSet_LocalhostOnTheUsualPortsWithFastFailureDetection()
    {
        var settings = ClusterSettings.From(Configuration());

        Assert.Equal(ClusteringMode.Localhost, settings.Mode);
        Assert.Equal(IPAddress.Loopback, settings.AdvertisedIp);
        Assert.Equal((11111, 30000, 11111), (settings.SiloPort, settings.GatewayPort, settings.PrimarySiloPort));
        Assert.Equal(("dev", "dev"), (settings.ClusterId, settings.ServiceId));
        Assert.Equal(TimeSpan.FromSeconds(1), settings.ProbeTimeout);
        Assert.Equal(3, settings.MissedProbesLimit);
    }

    [Fact]
    public void From_RedisWithEverything_ReadsEachSetting()
    {
        var settings = ClusterSettings.From(Configuration(
            ("Cluster:Membership", "Redis"),
            ("Cluster:Redis", "10.0.0.7:6379,password=x"),
            ("Cluster:AdvertisedIp", "10.0.0.21"),
            ("Cluster:SiloPort", "11112"),
            ("Cluster:GatewayPort", "30001"),
            ("Cluster:ClusterId", "hall2"),
            ("Cluster:ServiceId", "isocluster"),
            ("Cluster:ProbeTimeout", "00:00:02"),
            ("Cluster:MissedProbesLimit", "2")));

        Assert.Equal(
            new ClusterSettings(ClusteringMode.Redis, "10.0.0.7:6379,password=x", IPAddress.Parse("10.0.0.21"), 11112, 30001, 11112, "hall2", "isocluster", TimeSpan.FromSeconds(2), 2),
            settings);
    }

    [Fact]
    public void From_RedisInAPod_AdvertisesThePodIp()
    {
        var settings = ClusterSettings.From(Configuration(("Cluster:Membership", "redis"), ("Cluster:Redis", "redis:6379"), ("POD_IP", "10.244.1.17")));

        Assert.Equal(IPAddress.Parse("10.244.1.17"), settings.AdvertisedIp);
    }

    [Fact]
    public void From_EveryKindOfMistake_NamesEachFlagAtOnce()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ClusterSettings.From(Configuration(
            ("Cluster:Membership", "consul"),
            ("Cluster:AdvertisedIp", "pod-ip"),
            ("Cluster:SiloPort", "70000"),
            ("Cluster:ProbeTimeout", "-00:00:01"),
            ("Cluster:MissedProbesLimit", "0"))));

        Assert.Equal(
            [
                "--orleans-clustering (Cluster:Membership) must be localhost or redis, not 'consul'",
                "--orleans-silo-port (Cluster:SiloPort) must be a TCP port from 1 to 65535, not '70000'",
                "--orleans-advertised-ip (Cluster:AdvertisedIp) must be an IP address, not 'pod-ip'",
                "--orleans-probe-timeout (Cluster:ProbeTimeout) must be a positive time (hh:mm:ss), not '-00:00:01'",
                "--orleans-missed-probes-limit (Cluster:MissedProbesLimit) must be a whole number of at least 1, not '0'",
            ],
            error.Message.Split(Environment.NewLine));
    }

    [Fact]
    public void From_RedisWithoutAConnection_SaysWhatToGive()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ClusterSettings.From(Configuration(("Cluster:Membership", "redis"))));

        Assert.Equal("--orleans-redis (Cluster:Redis) is required with --orleans-clustering redis, e.g. 127.0.0.1:6379", error.Message);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
}
