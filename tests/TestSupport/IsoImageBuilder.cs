using System.Globalization;
using System.Text;

namespace IsoCluster.TestSupport;

/// <summary>
/// Builds real ISO9660 images (Rock Ridge + Joliet) with <c>xorriso</c>, for tests that need an upstream
/// ISO with a known layout. <c>bash scripts/test.sh</c> installs <c>xorriso</c>.
/// </summary>
/// <remarks>
/// <para>
/// Images are reproducible: all file and volume timestamps are pinned, so the same files and label give
/// byte-identical images on every run and machine with the same xorriso version.
/// </para>
/// <para>
/// Placing the magic string across a chunk boundary (e.g. 1 MiB): ISO9660 stores each file's data
/// contiguously, starting on a 2048-byte sector, after the volume descriptors and directory records.
/// xorriso (libisofs) currently writes file data in sorted order of the full ISO paths
/// (<c>a.bin</c>, <c>boot/grub/grub.cfg</c>, <c>pad/x.bin</c>, <c>zz.bin</c>), but that order and the size
/// of the metadata in front are not a contract. So: add a <see cref="Filler"/> file whose path sorts
/// before the config file, put the magic string at some offset inside the config file, build, then
/// locate the occurrence on the built image with <see cref="FindAll"/> (or the file with
/// <see cref="LocateFileAsync"/>). Growing the filler by whole sectors moves the config file by whole
/// sectors; padding the text in front of the magic string moves it within its sector. Adjust, rebuild,
/// and assert the final offsets with <see cref="FindAll"/> rather than assuming them.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var iso = await new IsoImageBuilder()
///     .AddFile("aa/pad.bin", IsoImageBuilder.Filler(3 * 1024 * 1024, seed: 1))
///     .AddTextFile("boot/grub/grub.cfg", "linux /vmlinuz " + magic + "\n")
///     .BuildAsync(Path.Combine(dir, "hook.iso"), ct);
/// long[] offsets = IsoImageBuilder.FindAll(await File.ReadAllBytesAsync(iso, ct), magicBytes);
/// </code>
/// </example>
public sealed class IsoImageBuilder
{
    /// <summary>Sector size of ISO9660 images: every file's data starts on a multiple of it.</summary>
    public const int SectorSize = 2048;

    private const string XorrisoExecutable = "xorriso";

    // 2023-11-14T22:13:20Z: any fixed instant works; pinning it makes the image bytes reproducible.
    private const long PinnedUnixTime = 1_700_000_000;

    private const int MaxVolumeLabelLength = 32;

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private string _volumeLabel = "ISOCLUSTER_TEST";

    /// <summary>
    /// Sets the ISO9660 volume label (<c>-V</c>): 1 to 32 characters from <c>A-Z a-z 0-9 _ -</c>.
    /// Defaults to <c>ISOCLUSTER_TEST</c>.
    /// </summary>
    public IsoImageBuilder WithVolumeLabel(string label)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        if (label.Length > MaxVolumeLabelLength || !label.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new ArgumentException(
                $"Volume label '{label}' must be 1 to {MaxVolumeLabelLength} characters from A-Z a-z 0-9 _ -.",
                nameof(label));
        }

        _volumeLabel = label;
        return this;
    }

    /// <summary>
    /// Adds a file. <paramref name="pathInIso"/> uses <c>/</c> separators, e.g. <c>boot/grub/grub.cfg</c>
    /// (a leading <c>/</c> is ignored); directories are created as needed. The bytes are copied.
    /// </summary>
    /// <exception cref="ArgumentException">The path is malformed or was already added.</exception>
    public IsoImageBuilder AddFile(string pathInIso, byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = NormalizeIsoPath(pathInIso, nameof(pathInIso));
        if (!_files.TryAdd(path, (byte[])content.Clone()))
        {
            throw new ArgumentException($"'{path}' was already added.", nameof(pathInIso));
        }

        return this;
    }

    /// <summary>Adds a text file encoded as UTF-8 without a byte order mark (as boot loaders expect).</summary>
    public IsoImageBuilder AddTextFile(string pathInIso, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return AddFile(pathInIso, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));
    }

    /// <summary>
    /// Writes the image to <paramref name="outputPath"/> (replacing any existing file) by laying the files
    /// out in a temporary directory and running <c>xorriso -as mkisofs -o out -R -J -V label dir</c>.
    /// </summary>
    /// <returns>The full path of the image.</returns>
    /// <exception cref="InvalidOperationException">xorriso is missing or failed; the message holds its stderr.</exception>
    /// <exception cref="TimeoutException">xorriso ran longer than 60 s and was killed.</exception>
    public async Task<string> BuildAsync(string outputPath, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        var fullOutputPath = Path.GetFullPath(outputPath);
        Directory.CreateDirectory(Path.GetDirectoryName(fullOutputPath)!);
        File.Delete(fullOutputPath);

        var tree = Directory.CreateTempSubdirectory("isocluster-iso-tree-");
        try
        {
            foreach (var (path, content) in _files)
            {
                var target = Path.Combine(tree.FullName, path.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await File.WriteAllBytesAsync(target, content, ct);
            }

            await RunXorrisoAsync(
                [
                    "-as", "mkisofs",
                    "-o", fullOutputPath,
                    "-R",
                    "-J",
                    "-V", _volumeLabel,
                    "--set_all_file_dates", "=" + PinnedUnixTime.ToString(CultureInfo.InvariantCulture),
                    tree.FullName,
                ],
                ct);
            return fullOutputPath;
        }
        finally
        {
            DeleteQuietly(tree);
        }
    }

    /// <summary>
    /// Reads one file back out of an image with <c>xorriso -osirrox on -indev iso -extract path tmp</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">xorriso failed, e.g. the file is not in the image.</exception>
    public static async Task<byte[]> ExtractFileAsync(string isoPath, string pathInIso, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(isoPath);
        var path = NormalizeIsoPath(pathInIso, nameof(pathInIso));
        var scratch = Directory.CreateTempSubdirectory("isocluster-iso-extract-");
        try
        {
            var target = Path.Combine(scratch.FullName, "extracted");
            await RunXorrisoAsync(
                ["-osirrox", "on", "-indev", Path.GetFullPath(isoPath), "-extract", "/" + path, target],
                ct);
            return await File.ReadAllBytesAsync(target, ct);
        }
        finally
        {
            DeleteQuietly(scratch);
        }
    }

    /// <summary>
    /// Where a file's data lies in an image (byte offset and length), as xorriso reports it
    /// (<c>-find path -exec report_lba</c>). Useful to check a layout before searching it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file is not in the image, is empty, or is split into several extents.</exception>
    public static async Task<IsoFileExtent> LocateFileAsync(string isoPath, string pathInIso, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(isoPath);
        var path = "/" + NormalizeIsoPath(pathInIso, nameof(pathInIso));
        var report = await RunXorrisoAsync(
            ["-indev", Path.GetFullPath(isoPath), "-find", path, "-exec", "report_lba", "--"],
            ct);

        // Line format: "File data lba:  0 ,       35 ,        1 ,       26 , '/boot/grub/grub.cfg'"
        // (extent number, start sector, sector count, file size, path).
        var extents = report
            .Split('\n')
            .Where(line => line.StartsWith("File data lba:", StringComparison.Ordinal)
                && line.TrimEnd().EndsWith("'" + path + "'", StringComparison.Ordinal))
            .ToList();
        if (extents.Count != 1)
        {
            throw new InvalidOperationException(
                $"Expected one data extent for '{path}' in {isoPath}, found {extents.Count}. xorriso reported:\n{report}");
        }

        var fields = extents[0]["File data lba:".Length..].Split(',', StringSplitOptions.TrimEntries);
        var startSector = long.Parse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture);
        var size = long.Parse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture);
        return new IsoFileExtent(startSector * SectorSize, size);
    }

    /// <summary>
    /// Every offset at which <paramref name="needle"/> occurs in <paramref name="haystack"/>, in
    /// ascending order, overlapping occurrences included (<c>"aa"</c> in <c>"aaa"</c> gives 0 and 1).
    /// </summary>
    public static long[] FindAll(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle)
    {
        if (needle.IsEmpty)
        {
            throw new ArgumentException("The needle must not be empty.", nameof(needle));
        }

        var offsets = new List<long>();
        var start = 0;
        while (start <= haystack.Length - needle.Length)
        {
            var found = haystack[start..].IndexOf(needle);
            if (found < 0)
            {
                break;
            }

            offsets.Add(start + found);
            start += found + 1;
        }

        return [.. offsets];
    }

    /// <summary>
    /// <paramref name="size"/> deterministic pseudo-random bytes for <paramref name="seed"/> (the same on
    /// every run and platform), all in 0x80..0xFF. An ASCII needle such as the magic string can therefore
    /// never occur inside filler, nor straddle from filler into a neighbouring file.
    /// </summary>
    public static byte[] Filler(int size, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var bytes = new byte[size];

        // SplitMix64: tiny, fast and fully specified, unlike System.Random whose sequence is not a contract.
        var state = unchecked((ulong)seed);
        for (var i = 0; i < bytes.Length; i += sizeof(ulong))
        {
            state = unchecked(state + 0x9E3779B97F4A7C15UL);
            var z = state;
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            z ^= z >> 31;
            for (var j = 0; j < sizeof(ulong) && i + j < bytes.Length; j++)
            {
                bytes[i + j] = (byte)(0x80 | (byte)(z >> (8 * j)));
            }
        }

        return bytes;
    }

    private static string NormalizeIsoPath(string pathInIso, string paramName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathInIso, paramName);
        var path = pathInIso.TrimStart('/');
        if (path.Length == 0
            || path.Contains('\\', StringComparison.Ordinal)
            || path.Contains('\0', StringComparison.Ordinal)
            || path.Split('/').Any(segment => segment is "" or "." or ".."))
        {
            throw new ArgumentException(
                $"'{pathInIso}' is not a relative '/'-separated file path like 'boot/grub/grub.cfg'.",
                paramName);
        }

        return path;
    }

    /// <summary>Runs xorriso and returns its stdout; a non-zero exit throws with its stderr.</summary>
    private static async Task<string> RunXorrisoAsync(IReadOnlyList<string> arguments, CancellationToken ct)
    {
        // SOURCE_DATE_EPOCH pins the volume creation/modification dates and UUID (reproducible-builds.org convention).
        var result = await ToolProcess.RunAsync(
            XorrisoExecutable,
            arguments,
            ToolTimeout,
            ct,
            new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = PinnedUnixTime.ToString(CultureInfo.InvariantCulture) });
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{XorrisoExecutable} {string.Join(' ', arguments)}' exited with code {result.ExitCode}. stderr:\n{result.StandardError}");
        }

        return result.StandardOutput;
    }

    private static void DeleteQuietly(DirectoryInfo directory)
    {
        try
        {
            directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless; the test's own outcome matters more.
        }
        catch (UnauthorizedAccessException)
        {
            // Same: never mask the real result of a test with a cleanup failure.
        }
    }
}

/// <summary>Where one file's data lies inside an ISO image.</summary>
/// <param name="Offset">Byte offset of the file's first byte from the start of the image.</param>
/// <param name="Length">File size in bytes.</param>
public readonly record struct IsoFileExtent(long Offset, long Length);
