using System.Diagnostics;
using PuppeteerSharp;

namespace IsoCluster.EndToEnd.Tests.AdminPage;

/// <summary>
/// Debian's <c>chromium</c> (installed by scripts/test.sh) run headless and driven over the DevTools protocol with
/// PuppeteerSharp; nothing is downloaded. Each instance has its own temporary profile and is killed, by its own process
/// id, when disposed.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser"];

    private readonly IBrowser _browser;
    private readonly DirectoryInfo _profile;
    private readonly int? _processId;

    private HeadlessChromium(IBrowser browser, DirectoryInfo profile)
    {
        _browser = browser;
        _profile = profile;
        _processId = browser.Process?.Id;
    }

    /// <summary>Starts the browser; fails with what to install when Debian's chromium is missing.</summary>
    public static async Task<HeadlessChromium> StartAsync()
    {
        var executable = Candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                $"No chromium at {string.Join(" or ", Candidates)}: install Debian's chromium package (bash scripts/test.sh installs it).");
        var profile = Directory.CreateTempSubdirectory("isocluster-chromium-");
        try
        {
            var browser = await Puppeteer.LaunchAsync(new LaunchOptions
            {
                ExecutablePath = executable,
                Browser = SupportedBrowser.Chromium,
                Headless = true,
                UserDataDir = profile.FullName,

                // Root in a container has no user namespace for chromium's sandbox; /dev/shm there is often tiny.
                Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--disable-extensions"],
                DefaultViewport = new ViewPortOptions { Width = 1400, Height = 900 },
                Timeout = 60_000,
                ProtocolTimeout = 60_000,
            });
            return new HeadlessChromium(browser, profile);
        }
        catch
        {
            profile.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>A new tab.</summary>
    public Task<IPage> NewPageAsync() => _browser.NewPageAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _browser.CloseAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (Exception ex) when (ex is TimeoutException or PuppeteerException)
        {
            // Closed below by its process id.
        }
        finally
        {
            if (_processId is { } id)
            {
                try
                {
                    using var process = Process.GetProcessById(id);
                    process.Kill(entireProcessTree: true);
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
                {
                    // Already gone.
                }
            }

            await _browser.DisposeAsync();
            _profile.Delete(recursive: true);
        }
    }
}
