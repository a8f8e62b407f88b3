using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Machines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Tests.Hardware;

public sealed class HardwareFileSourceTests : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly MacAddress Sm01Mac = MacAddress.Parse("de:ed:be:ef:fe:01");
    private static readonly MacAddress Sm02Mac = MacAddress.Parse("de:ed:be:ef:fe:02");

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-hardware-");
    private readonly ManualTimeProvider _time = new();
    private readonly ListLogger<HardwareFileSource> _logger = new();
    private int _writes;

    private string FilePath => Path.Combine(_directory.FullName, "hardware.yaml");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task FindAsync_NoFileConfigured_IsUnavailable()
    {
        using var source = CreateSource(file: null);
        await source.StartAsync(CancellationToken.None);

        var lookup = await source.FindAsync(Sm01Mac, CancellationToken.None);

        Assert.Equal(HardwareLookupStatus.Unavailable, lookup.Status);
        Assert.Equal("no Hardware source is configured (--hardware-file)", lookup.Reason);
    }

    [Fact]
    public async Task StartAsync_MissingFile_ThrowsNamingFile()
    {
        using var source = CreateSource(FilePath);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => source.StartAsync(CancellationToken.None));

        Assert.Equal($"Hardware file '{FilePath}' (--hardware-file) does not exist", ex.Message);
    }

    [Fact]
    public async Task StartAsync_InvalidFile_ThrowsNamingDocumentAndField()
    {
        Write(HardwareYaml.Documents(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"), HardwareYaml.Object("sm02", "zz")));
        using var source = CreateSource(FilePath);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => source.StartAsync(CancellationToken.None));

        Assert.StartsWith($"Hardware file '{FilePath}' is invalid (1 problem):", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{FilePath}: document 2 (Hardware 'tink-system/sm02'): spec.interfaces[0].dhcp.mac: 'zz' is not a MAC address", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindAsync_ValidFile_FindsMachineAndReportsUnknownMac()
    {
        Write(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        using var source = await StartAsync();

        var found = await source.FindAsync(Sm01Mac, CancellationToken.None);
        var missing = await source.FindAsync(Sm02Mac, CancellationToken.None);

        Assert.Equal(HardwareLookupStatus.Found, found.Status);
        Assert.Equal("sm01", found.Machine?.HardwareName);
        Assert.Equal(HardwareLookupStatus.NotFound, missing.Status);
        Assert.Contains("de:ed:be:ef:fe:02", missing.Reason, StringComparison.Ordinal);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1000 && e.Message.Contains("1 machines", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FindAsync_BeforeStart_LoadsTheFile()
    {
        Write(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        using var source = CreateSource(FilePath);

        var lookup = await source.FindAsync(Sm01Mac, CancellationToken.None);

        Assert.Equal(HardwareLookupStatus.Found, lookup.Status);
    }

    [Fact]
    public async Task Poll_FileEdited_PicksUpEdit()
    {
        Write(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        using var source = await StartAsync();

        Write(HardwareYaml.Documents(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"), HardwareYaml.Object("sm02", "de:ed:be:ef:fe:02")));
        _time.Advance(PollInterval);

        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Sm02Mac, CancellationToken.None)).Status);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1001 && e.Level == LogLevel.Information && e.Message.Contains("2 machines", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watcher_FileReplacedByRename_PicksUpEditBeforeNextPoll()
    {
        Write(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        using var source = CreateSource(FilePath, pollInterval: TimeSpan.FromHours(1));
        await source.StartAsync(CancellationToken.None);

        // Editors save by writing a temporary file and renaming it over the original.
        var temporary = Path.Combine(_directory.FullName, ".hardware.yaml.swp");
        File.WriteAllText(temporary, HardwareYaml.Object("sm02", "de:ed:be:ef:fe:02"));
        File.Move(temporary, FilePath, overwrite: true);

        // The file event arrives on a watcher thread and arms the debounce timer; only the fake clock fires it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        HardwareLookup lookup;
        do
        {
            await Task.Delay(20);
            _time.Advance(TimeSpan.FromMilliseconds(300));
            lookup = await source.FindAsync(Sm02Mac, CancellationToken.None);
        }
        while (lookup.Status != HardwareLookupStatus.Found && DateTime.UtcNow < deadline);

        Assert.Equal(HardwareLookupStatus.Found, lookup.Status);
    }

    [Fact]
    public async Task Poll_ConfigMapSymlinkSwapped_PicksUpEditWithSameTimeAndSize()
    {
        // The layout kubelet gives a mounted ConfigMap: hardware.yaml -> ..data/hardware.yaml, ..data -> ..<version>.
        var stamp = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        WriteVersion("..v1", HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"), stamp);
        Directory.CreateSymbolicLink(Path.Combine(_directory.FullName, "..data"), "..v1");
        File.CreateSymbolicLink(FilePath, Path.Combine("..data", "hardware.yaml"));
        using var source = await StartAsync();

        WriteVersion("..v2", HardwareYaml.Object("sm02", "de:ed:be:ef:fe:02"), stamp);
        Directory.Delete(Path.Combine(_directory.FullName, "..data"));
        Directory.CreateSymbolicLink(Path.Combine(_directory.FullName, "..data"), "..v2");
        _time.Advance(PollInterval);

        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Sm02Mac, CancellationToken.None)).Status);
        Assert.Equal(HardwareLookupStatus.NotFound, (await source.FindAsync(Sm01Mac, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Poll_InvalidEdit_KeepsLastGoodDataAndWarns()
    {
        Write(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        using var source = await StartAsync();

        Write("apiVersion: tinkerbell.org/v1alpha1\nkind: Hardware\nmetadata: {name: [\n");
        _time.Advance(PollInterval);

        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Sm01Mac, CancellationToken.None)).Status);
        var warning = Assert.Single(_logger.Entries, e => e.EventId.Id == 1002);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(FilePath, warning.Message, StringComparison.Ordinal);
        Assert.Contains("invalid YAML", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_FileDeleted_KeepsLastGoodData()
    {
        Write(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        using var source = await StartAsync();

        File.Delete(FilePath);
        _time.Advance(PollInterval);

        Assert.Equal(HardwareLookupStatus.Found, (await source.FindAsync(Sm01Mac, CancellationToken.None)).Status);
        Assert.Contains(_logger.Entries, e => e.EventId.Id == 1002 && e.Message.Contains("does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Poll_UnrelatedMachineEdited_KeepsRevisionOfOthers()
    {
        Write(HardwareYaml.Documents(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"), HardwareYaml.Object("sm02", "de:ed:be:ef:fe:02")));
        using var source = await StartAsync();
        var sm01Before = (await source.FindAsync(Sm01Mac, CancellationToken.None)).Machine!.Revision;
        var sm02Before = (await source.FindAsync(Sm02Mac, CancellationToken.None)).Machine!.Revision;

        Write(HardwareYaml.Documents(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"), HardwareYaml.Object("sm02", "de:ed:be:ef:fe:02", hostname: "sm02-renamed")));
        _time.Advance(PollInterval);

        Assert.Equal(sm01Before, (await source.FindAsync(Sm01Mac, CancellationToken.None)).Machine!.Revision);
        Assert.NotEqual(sm02Before, (await source.FindAsync(Sm02Mac, CancellationToken.None)).Machine!.Revision);
    }

    [Fact]
    public async Task AddHardwareSource_Resolved_IsOneSingletonAndHostedService()
    {
        Write(HardwareYaml.Object("sm01", "de:ed:be:ef:fe:01"));
        var services = new ServiceCollection()
            .AddLogging()
            .Configure<HardwareOptions>(o => o.File = FilePath)
            .AddHardwareSource();
        await using var provider = services.BuildServiceProvider();

        var source = provider.GetRequiredService<IHardwareSource>();

        Assert.Same(source, Assert.Single(provider.GetServices<IHostedService>()));
        Assert.IsType<HardwareFileSource>(source);
    }

    [Fact]
    public void AddHardwareSource_NonPositivePollInterval_FailsValidation()
    {
        using var provider = new ServiceCollection()
            .AddLogging()
            .Configure<HardwareOptions>(o => o.PollInterval = TimeSpan.Zero)
            .AddHardwareSource()
            .BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HardwareOptions>>().Value);

        Assert.Contains("Hardware:PollInterval", ex.Message, StringComparison.Ordinal);
    }

    private HardwareFileSource CreateSource(string? file, TimeSpan? pollInterval = null) =>
        new(Options.Create(new HardwareOptions { File = file, PollInterval = pollInterval ?? PollInterval }), _time, _logger);

    private async Task<HardwareFileSource> StartAsync()
    {
        var source = CreateSource(FilePath);
        await source.StartAsync(CancellationToken.None);
        return source;
    }

    private void WriteVersion(string version, string content, DateTime lastWriteUtc)
    {
        var path = Path.Combine(_directory.CreateSubdirectory(version).FullName, "hardware.yaml");
        File.WriteAllText(path, content);
        File.SetLastWriteTimeUtc(path, lastWriteUtc);
    }

    // Each write gets a distinct timestamp, as real edits seconds apart would, so the poll's change check does not
    // depend on the file system's timestamp resolution.
    private void Write(string content)
    {
        File.WriteAllText(FilePath, content);
        File.SetLastWriteTimeUtc(FilePath, new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(++_writes));
    }
}
