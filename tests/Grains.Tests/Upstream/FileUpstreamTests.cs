using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Tests.Hardware;
using IsoCluster.Grains.Upstream;
using IsoCluster.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IsoCluster.Grains.Tests.Upstream;

/// <summary>
/// Local-file sources on real files in a temp directory: probes give length and validators, reads give exact bytes
/// of the pinned version only (DESIGN invariant 3), and failures name the path.
/// </summary>
public sealed class FileUpstreamTests : IDisposable
{
    private const int ChunkSize = 64 * 1024;
    private const int MagicLength = 1024;

    // A whole second, so a copy can be given exactly the same modification time as the original.
    private static readonly DateTime PinnedMtime = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("isocluster-file-upstream-");
    private readonly FileUpstream _files = new(NullLogger<FileUpstream>.Instance);

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task Probe_RegularFile_GivesLengthAndStrongValidators()
    {
        var path = await WriteAsync("hook.iso", IsoImageBuilder.Filler(300_001, seed: 1));
        File.SetLastWriteTimeUtc(path, PinnedMtime);

        var probe = _files.Probe(path);

        Assert.Equal(UpstreamStatus.Ok, probe.Status);
        Assert.Equal(300_001, probe.Length);
        Assert.True(probe.RangeSupported);
        Assert.Equal(new DateTimeOffset(PinnedMtime), probe.LastModified);
        Assert.NotNull(probe.ETag);
        Assert.StartsWith("\"", probe.ETag, StringComparison.Ordinal);
        Assert.EndsWith("\"", probe.ETag, StringComparison.Ordinal);
        Assert.Equal(probe.ETag, _files.Probe(path).ETag);
    }

    [Fact]
    public async Task ReadAsync_PinnedVersion_ReturnsExactBytes()
    {
        var bytes = IsoImageBuilder.Filler((3 * ChunkSize) + 777, seed: 2);
        var path = await WriteAsync("hook.iso", bytes);
        var version = Version(path);

        foreach (var (offset, length) in new (long, int)[] { (0, ChunkSize), (ChunkSize - 1023, ChunkSize + 2046), (bytes.Length - 777, 777), (12_345, 1) })
        {
            var window = new byte[length];

            var read = await _files.ReadAsync(path, version, offset, window, CancellationToken.None);

            Assert.Equal(UpstreamRead.Ok, read);
            Assert.True(window.AsSpan().SequenceEqual(bytes.AsSpan((int)offset, length)), $"bytes at {offset} differ");
        }
    }

    [Fact]
    public async Task ReadAsync_FileReplacedByRename_ReturnsVersionChanged()
    {
        var path = await WriteAsync("hook.iso", IsoImageBuilder.Filler(2 * ChunkSize, seed: 3));
        var version = Version(path);
        var replacement = await WriteAsync("hook.iso.new", IsoImageBuilder.Filler(2 * ChunkSize, seed: 4));
        File.Move(replacement, path, overwrite: true);

        var read = await _files.ReadAsync(path, version, 0, new byte[ChunkSize], CancellationToken.None);

        Assert.Equal(UpstreamStatus.VersionChanged, read.Status);
        Assert.Contains(path, read.Reason, StringComparison.Ordinal);
        Assert.NotEqual(version.ETag, _files.Probe(path).ETag);
    }

    [Fact]
    public async Task ReadAsync_ReplacedBySameSizeAndMtime_ReturnsVersionChangedThroughInode()
    {
        // cp -p or rsync -t publish a new ISO with the old one's size and modification time; only the inode tells.
        var path = await WriteAsync("hook.iso", IsoImageBuilder.Filler(2 * ChunkSize, seed: 5));
        File.SetLastWriteTimeUtc(path, PinnedMtime);
        var version = Version(path);
        var replacement = await WriteAsync("hook.iso.new", IsoImageBuilder.Filler(2 * ChunkSize, seed: 6));
        File.SetLastWriteTimeUtc(replacement, File.GetLastWriteTimeUtc(path));
        File.Move(replacement, path, overwrite: true);

        var probe = _files.Probe(path);
        var read = await _files.ReadAsync(path, version, 0, new byte[ChunkSize], CancellationToken.None);

        Assert.Equal(version.Length, probe.Length);
        Assert.Equal(version.LastModified, probe.LastModified);
        Assert.Equal(new DateTimeOffset(PinnedMtime), probe.LastModified);
        Assert.NotEqual(version.ETag, probe.ETag);
        Assert.Equal(UpstreamStatus.VersionChanged, read.Status);
    }

    [Fact]
    public async Task ReadAsync_FileRewrittenInPlace_ReturnsVersionChanged()
    {
        var path = await WriteAsync("hook.iso", IsoImageBuilder.Filler(2 * ChunkSize, seed: 7));
        File.SetLastWriteTimeUtc(path, PinnedMtime);
        var version = Version(path);
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            await stream.WriteAsync(IsoImageBuilder.Filler(100, seed: 8));
        }

        var read = await _files.ReadAsync(path, version, 0, new byte[ChunkSize], CancellationToken.None);

        Assert.Equal(UpstreamStatus.VersionChanged, read.Status);
    }

    [Fact]
    public async Task ReadAsync_FileTruncated_ReturnsVersionChangedNamingLengths()
    {
        var path = await WriteAsync("hook.iso", IsoImageBuilder.Filler(2 * ChunkSize, seed: 9));
        var version = Version(path);
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(ChunkSize);
        }

        var read = await _files.ReadAsync(path, version, ChunkSize, new byte[ChunkSize], CancellationToken.None);

        Assert.Equal(UpstreamStatus.VersionChanged, read.Status);
        Assert.Contains($"length changed from {2 * ChunkSize} to {ChunkSize}", read.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeAndRead_MissingFile_FailNamingPath()
    {
        var path = Path.Combine(_directory.FullName, "missing", "hook.iso");
        var present = await WriteAsync("present.iso", IsoImageBuilder.Filler(ChunkSize, seed: 10));
        var version = Version(present) with { Source = new IsoSource("file://" + path, IsoSourceOrigin.Operator) };

        var probe = _files.Probe(path);
        var read = await _files.ReadAsync(path, version, 0, new byte[100], CancellationToken.None);

        Assert.Equal(UpstreamStatus.BadResponse, probe.Status);
        Assert.Equal($"{path}: no such file", probe.Reason);
        Assert.Equal(UpstreamStatus.BadResponse, read.Status);
        Assert.Equal($"{path}: no such file", read.Reason);
    }

    [Fact]
    public void Probe_Directory_FailsNamingPath()
    {
        var probe = _files.Probe(_directory.FullName);

        Assert.Equal(UpstreamStatus.BadResponse, probe.Status);
        Assert.Equal($"{_directory.FullName}: is a directory", probe.Reason);
    }

    [Fact]
    public async Task UpstreamClient_OperatorFileSource_ProbesAndReadsTheFile()
    {
        var bytes = IsoImageBuilder.Filler(ChunkSize + 5, seed: 11);
        var path = await WriteAsync("client.iso", bytes);
        Assert.True(UpstreamUrlPolicy.TryParseOperatorSource(path, out var url, out _));
        using var client = CreateClient(new ListLogger<UpstreamClient>());
        var source = new IsoSource(url, IsoSourceOrigin.Operator);

        var probe = await client.ProbeAsync(source, retry: true, CancellationToken.None);
        var version = new IsoVersion(source, "v", probe.Length, probe.ETag, probe.LastModified, ChunkSize, MagicLength, probe.RangeSupported);
        var window = new byte[10];
        var read = await client.ReadAsync(version, ChunkSize - 5, window, CancellationToken.None);

        Assert.Equal(UpstreamStatus.Ok, probe.Status);
        Assert.Equal(bytes.Length, probe.Length);
        Assert.Equal(UpstreamRead.Ok, read);
        Assert.True(window.AsSpan().SequenceEqual(bytes.AsSpan(ChunkSize - 5, 10)));
    }

    [Fact]
    public async Task UpstreamClient_MissingFile_LogsWarningNamingPath()
    {
        var path = Path.Combine(_directory.FullName, "gone.iso");
        var logger = new ListLogger<UpstreamClient>();
        using var client = CreateClient(logger);

        var probe = await client.ProbeAsync(new IsoSource(new Uri(path).AbsoluteUri, IsoSourceOrigin.Operator), retry: true, CancellationToken.None);

        Assert.Equal(UpstreamStatus.BadResponse, probe.Status);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Equal(2000, entry.EventId.Id);
        Assert.Contains($"Upstream {path} failed", entry.Message, StringComparison.Ordinal);
        Assert.Contains($"{path}: no such file", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamClient_ClientSourceNamingFile_IsRefused()
    {
        var path = await WriteAsync("secret.iso", IsoImageBuilder.Filler(ChunkSize, seed: 12));
        using var client = CreateClient(new ListLogger<UpstreamClient>());
        var source = new IsoSource(new Uri(path).AbsoluteUri, IsoSourceOrigin.Client);
        var version = Version(path) with { Source = source };

        var probe = await client.ProbeAsync(source, retry: true, CancellationToken.None);
        var read = await client.ReadAsync(version, 0, new byte[100], CancellationToken.None);

        Assert.Equal(UpstreamStatus.RedirectRejected, probe.Status);
        Assert.Equal(UpstreamStatus.RedirectRejected, read.Status);
        Assert.Contains("may not name a local file", read.Reason, StringComparison.Ordinal);
    }

    private static UpstreamClient CreateClient(ListLogger<UpstreamClient> logger) => UpstreamClients.Create(logger);

    private async Task<string> WriteAsync(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory.FullName, name);
        await File.WriteAllBytesAsync(path, bytes);
        return path;
    }

    // The version a source ISO grain would pin from a probe of the file.
    private IsoVersion Version(string path)
    {
        var probe = _files.Probe(path);
        Assert.Equal(UpstreamStatus.Ok, probe.Status);
        Assert.True(UpstreamUrlPolicy.TryParseOperatorSource(path, out var url, out _));
        return new IsoVersion(new IsoSource(url, IsoSourceOrigin.Operator), "v1", probe.Length, probe.ETag, probe.LastModified, ChunkSize, MagicLength, probe.RangeSupported);
    }
}
