using IsoCluster.TestSupport;

namespace IsoCluster.Boot.Tests;

/// <summary>
/// The bootable ISO built by <c>scripts/boot-fixture.sh</c> (Debian kernel + busybox init that prints
/// <c>/proc/cmdline</c>), cached between runs by the script.
/// </summary>
public sealed class BootFixture : IAsyncLifetime
{
    public byte[] Iso { get; private set; } = [];

    public string IsoPath { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var script = Path.Combine(RepositoryRoot(), "scripts", "boot-fixture.sh");
        var result = await ToolProcess.RunAsync("bash", [script], TimeSpan.FromMinutes(10), CancellationToken.None);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed ({result.ExitCode}): {result.StandardError}");
        }

        IsoPath = result.StandardOutput.Trim().Split('\n')[^1];
        Iso = await File.ReadAllBytesAsync(IsoPath);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IsoCluster.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("IsoCluster.sln not found above the test binaries");
    }
}
