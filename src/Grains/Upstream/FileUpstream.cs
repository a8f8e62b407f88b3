using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// Reads source ISOs that an operator named as local files, under the same contract as an HTTP upstream: a probe
/// gives the length and validators (<see cref="FileStamp.ETag"/> from inode, size and modification time, and the
/// modification time as Last-Modified), and a read fills its window only while the file is still the pinned version.
/// Only <see cref="UpstreamClient"/> calls it, and only for operator sources.
/// </summary>
/// <remarks>
/// Every read opens the file anew, so a file replaced by rename is seen at once (the name now leads to another
/// inode), and stats the open handle before and after reading, so bytes of a file rewritten in place during the
/// read are never handed out. Nothing is buffered beyond the caller's window.
/// </remarks>
public sealed partial class FileUpstream
{
    private readonly ILogger<FileUpstream> _logger;
    private int _noInodesLogged;

    /// <summary>Creates the reader.</summary>
    public FileUpstream(ILogger<FileUpstream> logger) => _logger = logger;

    /// <summary>Reads the length and validators of the file at <paramref name="path"/>.</summary>
    public UpstreamProbe Probe(string path)
    {
        var (handle, failure) = Open(path);
        if (handle is null)
        {
            return Failed(failure);
        }

        using (handle)
        {
            if (!TryStamp(handle, path, out var stamp, out failure))
            {
                return Failed(failure);
            }

            return new UpstreamProbe(UpstreamStatus.Ok, stamp.Length, stamp.ETag, stamp.LastModified, RangeSupported: true, null);
        }
    }

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/> of the file at
    /// <paramref name="path"/>, failing with <see cref="UpstreamStatus.VersionChanged"/> rather than returning bytes
    /// of a file that is not (or stopped being, during the read) <paramref name="version"/>.
    /// </summary>
    public async Task<UpstreamRead> ReadAsync(string path, IsoVersion version, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        var last = offset + destination.Length - 1;
        var (handle, failure) = Open(path);
        if (handle is null)
        {
            return failure;
        }

        using (handle)
        {
            if (!TryStamp(handle, path, out var before, out failure))
            {
                return failure;
            }

            if (Difference(before, version) is { } changed)
            {
                return new(UpstreamStatus.VersionChanged, $"{path}: {changed}");
            }

            try
            {
                var filled = 0;
                while (filled < destination.Length)
                {
                    var read = await RandomAccess.ReadAsync(handle, destination[filled..], offset + filled, cancellationToken);
                    if (read == 0)
                    {
                        return new(UpstreamStatus.VersionChanged, $"{path}: ended at byte {offset + filled}, before byte {last}: the file was truncated");
                    }

                    filled += read;
                }
            }
            catch (IOException ex)
            {
                return new(UpstreamStatus.Unreachable, $"{path}: reading bytes {offset}-{last} failed: {ex.Message}");
            }

            // An in-place rewrite moves the modification time (and maybe the length) of this very inode; the bytes
            // just read may be half old, half new, so they are dropped.
            if (!TryStamp(handle, path, out var after, out failure))
            {
                return failure;
            }

            return after == before
                ? UpstreamRead.Ok
                : new(UpstreamStatus.VersionChanged, $"{path}: changed while bytes {offset}-{last} were read");
        }
    }

    private static string? Difference(FileStamp stamp, IsoVersion version)
    {
        if (stamp.Length != version.Length)
        {
            return $"length changed from {version.Length} to {stamp.Length}";
        }

        return stamp.ETag != version.ETag
            ? $"replaced or modified (validator {version.ETag} is now {stamp.ETag})"
            : null;
    }

    // A missing file, a directory or a denied permission is the file-system's 404 or 403: not worth serving stale
    // bytes over, unlike an I/O error, which may pass.
    private static (SafeFileHandle? Handle, UpstreamRead Failure) Open(string path)
    {
        try
        {
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return (handle, UpstreamRead.Ok);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return (null, new(UpstreamStatus.BadResponse, $"{path}: no such file"));
        }
        catch (UnauthorizedAccessException)
        {
            // .NET reports opening a directory as access denied too.
            return (null, new(UpstreamStatus.BadResponse, Directory.Exists(path) ? $"{path}: is a directory" : $"{path}: permission denied"));
        }
        catch (IOException ex)
        {
            return (null, new(UpstreamStatus.Unreachable, $"{path}: cannot be opened: {ex.Message}"));
        }
    }

    private static UpstreamProbe Failed(UpstreamRead failure) =>
        new(failure.Status, 0, null, null, RangeSupported: false, failure.Reason);

    private bool TryStamp(SafeFileHandle handle, string path, out FileStamp stamp, out UpstreamRead failure)
    {
        try
        {
            stamp = FileStamp.Of(handle);
        }
        catch (IOException ex)
        {
            stamp = default;
            failure = new(UpstreamStatus.Unreachable, $"{path}: cannot be examined: {ex.Message}");
            return false;
        }

        if (stamp.Inode is null && Interlocked.Exchange(ref _noInodesLogged, 1) == 0)
        {
            LogNoInodes(_logger, path);
        }

        if (!stamp.IsRegularFile)
        {
            failure = new(UpstreamStatus.BadResponse, $"{path}: is not a regular file");
            return false;
        }

        failure = UpstreamRead.Ok;
        return true;
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "statx is unavailable (first seen reading {Path}): local source ISOs are versioned by length and modification time only, so a file replaced by one of the same size and modification time goes unnoticed")]
    private static partial void LogNoInodes(ILogger logger, string path);
}
