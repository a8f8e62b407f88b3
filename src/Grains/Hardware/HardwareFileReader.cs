using System.Security.Cryptography;
using System.Text;

namespace IsoCluster.Grains.Hardware;

/// <summary>What identifies one version of the Hardware file, cheaply: no content is read.</summary>
/// <param name="ResolvedPath">
/// The file after following symlinks: a Kubernetes ConfigMap update swaps the target directory, possibly keeping
/// the time and size, so the target's path is part of the version.
/// </param>
/// <param name="LastWriteUtc">The target's last write time.</param>
/// <param name="Length">The target's size in bytes, or -1 when the file does not exist.</param>
internal readonly record struct HardwareFileStamp(string ResolvedPath, DateTime LastWriteUtc, long Length);

/// <summary>One attempt to read the Hardware file.</summary>
/// <param name="Index">The machines, or null when the file is missing, unreadable or invalid.</param>
/// <param name="Error">Why there is no index, naming the file (and document and field); null on success.</param>
/// <param name="Stamp">The file's version before it was read.</param>
/// <param name="Fingerprint">A hash of the content read, or the error when nothing could be read.</param>
internal sealed record HardwareFileRead(HardwareIndex? Index, string? Error, HardwareFileStamp Stamp, string Fingerprint);

/// <summary>Reads and parses the Hardware file, turning every failure into a message naming the file.</summary>
internal static class HardwareFileReader
{
    public static HardwareFileStamp GetStamp(string path)
    {
        try
        {
            var info = new FileInfo(ResolveSymlinks(path));
            return info.Exists
                ? new HardwareFileStamp(info.FullName, info.LastWriteTimeUtc, info.Length)
                : new HardwareFileStamp(info.FullName, default, -1);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new HardwareFileStamp(path, default, -1);
        }
    }

    /// <summary>
    /// The path with every symlink resolved, in any component: a ConfigMap swaps the <c>..data</c> directory link,
    /// which following only the file's own link would miss.
    /// </summary>
    private static string ResolveSymlinks(string path)
    {
        var resolved = Path.GetFullPath(path);

        // Like the kernel's limit (40), a bound that stops a symlink loop from spinning.
        for (var hops = 0; hops < 40; hops++)
        {
            var root = Path.GetPathRoot(resolved) ?? "";
            var parts = resolved[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var current = root;
            var followed = false;
            for (var i = 0; i < parts.Length && !followed; i++)
            {
                var next = Path.Combine(current, parts[i]);
                if (new FileInfo(next).LinkTarget is { } target)
                {
                    resolved = Path.Combine([Path.GetFullPath(target, current), .. parts[(i + 1)..]]);
                    followed = true;
                }

                current = next;
            }

            if (!followed)
            {
                return resolved;
            }
        }

        return resolved;
    }

    /// <summary>
    /// Reads the file; Index is null exactly when Error is set. Fingerprint identifies what was read (a hash of the
    /// content, or the error when there was none), so a repeated read of the same content can be recognised.
    /// </summary>
    public static HardwareFileRead Read(string path)
    {
        // The stamp is taken before the content: if the file changes in between, the next poll sees a newer stamp
        // and reads again, rather than the change going unnoticed.
        var stamp = GetStamp(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Failed($"Hardware file '{path}' (--hardware-file) does not exist", stamp);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Failed($"Hardware file '{path}' (--hardware-file) cannot be read: {ex.Message}", stamp);
        }

        var fingerprint = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        var result = HardwareDocumentParser.Parse(text, path);
        if (!result.IsValid)
        {
            var count = result.Errors.Length == 1 ? "1 problem" : $"{result.Errors.Length} problems";
            var error = $"Hardware file '{path}' is invalid ({count}):{Environment.NewLine}  " +
                string.Join($"{Environment.NewLine}  ", result.Errors);
            return new HardwareFileRead(null, error, stamp, fingerprint);
        }

        return new HardwareFileRead(result.Index, null, stamp, fingerprint);
    }

    private static HardwareFileRead Failed(string error, HardwareFileStamp stamp) => new(null, error, stamp, error);
}
