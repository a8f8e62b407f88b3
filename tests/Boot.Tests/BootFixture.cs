using System.Diagnostics;

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
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in 10 minutes: {await stderr}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed ({process.ExitCode}): {await stderr}");
        }

        IsoPath = (await stdout).Trim().Split('\n')[^1];
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
