using System.Text;
using IsoCluster.Grains.SourceIso;
using IsoCluster.TestSupport;

namespace IsoCluster.EndToEnd.Tests.Harness;

/// <summary>
/// A real ISO9660 image (built with xorriso) laid out like a HookOS ISO for the tests: three boot loader configs
/// carry the magic string, placed on purpose around 1 MiB chunk boundaries, with pseudo-random filler between.
/// </summary>
/// <remarks>
/// The three occurrences, with M the magic length and C = 1 MiB (the default chunk size):
/// <list type="bullet">
/// <item><c>boot/extra.cfg</c>: ends exactly at C, so chunk 0 holds it whole and chunk 1 must not patch anything.</item>
/// <item><c>boot/grub/grub.cfg</c> (the <c>linux /vmlinuz</c> line): straddles 2C, split between chunks 1 and 2.</item>
/// <item><c>syslinux/isolinux.cfg</c>: starts exactly at 3C, so chunk 2's window sees only its first M-1 bytes.</item>
/// </list>
/// xorriso's data layout is not a contract (see <see cref="IsoImageBuilder"/>), so the image is built, measured
/// with <see cref="IsoImageBuilder.FindAll"/>, adjusted (whole sectors of filler, then comment length inside the
/// file) and rebuilt until every occurrence sits at its target; the final offsets are asserted, not assumed.
/// </remarks>
public sealed class BootIsoImage
{
    /// <summary>The chunk size the layout is designed around: the gateway default.</summary>
    public const int ChunkSize = 1024 * 1024;

    /// <summary>The file whose occurrence ends exactly at the first chunk boundary.</summary>
    public const string ExtraCfgPath = "boot/extra.cfg";

    /// <summary>GRUB's config; its <c>linux</c> line straddles the second chunk boundary.</summary>
    public const string GrubCfgPath = "boot/grub/grub.cfg";

    /// <summary>ISOLINUX's config; its <c>APPEND</c> line starts exactly at the third chunk boundary.</summary>
    public const string IsolinuxCfgPath = "syslinux/isolinux.cfg";

    /// <summary>What precedes the parameters on the GRUB kernel line.</summary>
    public const string GrubLinuxPrefix = "\tlinux /vmlinuz ";

    private const int Sector = IsoImageBuilder.SectorSize;
    private const int MaxBuilds = 10;

    // Not a whole number of sectors, so the image does not end on a chunk boundary and the last chunk is partial.
    private const int TailSize = (3 * ChunkSize) - 70_001;

    private static readonly Lazy<Task<BootIsoImage>> SharedImage =
        new(() => BuildAsync(IsoOptions.HookOsMagicString, seed: 1, CancellationToken.None));

    private readonly int[] _padSectors;
    private readonly int[] _commentLengths;

    private BootIsoImage(byte[] bytes, string magic, long[] occurrences, IReadOnlyDictionary<string, string> configFiles, int[] padSectors, int[] commentLengths)
    {
        Bytes = bytes;
        Magic = magic;
        Occurrences = occurrences;
        ConfigFiles = configFiles;
        _padSectors = padSectors;
        _commentLengths = commentLengths;
    }

    /// <summary>The image.</summary>
    public byte[] Bytes { get; }

    /// <summary>The magic string it carries.</summary>
    public string Magic { get; }

    /// <summary>Where the magic string starts, ascending: one offset per config file, in file order.</summary>
    public IReadOnlyList<long> Occurrences { get; }

    /// <summary>The text of each config file (magic string included), by path in the image.</summary>
    public IReadOnlyDictionary<string, string> ConfigFiles { get; }

    /// <summary>Offsets of the chunk boundaries inside the image (C, 2C, ...).</summary>
    public IEnumerable<long> ChunkBoundaries
    {
        get
        {
            for (long boundary = ChunkSize; boundary < Bytes.Length; boundary += ChunkSize)
            {
                yield return boundary;
            }
        }
    }

    /// <summary>The HookOS-magic image shared by every test in the process: built once, never modified.</summary>
    public static Task<BootIsoImage> SharedAsync() => SharedImage.Value;

    /// <summary>Builds an image carrying <paramref name="magic"/>; <paramref name="seed"/> picks the filler bytes.</summary>
    public static async Task<BootIsoImage> BuildAsync(string magic, int seed, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(magic);
        long[] targets = [ChunkSize - magic.Length, (2L * ChunkSize) - (magic.Length / 3), 3L * ChunkSize];
        int[] padSectors = [480, 480, 480];
        int[] commentLengths = [0, 0, 0];
        var magicBytes = Encoding.ASCII.GetBytes(magic);
        for (var build = 0; build < MaxBuilds; build++)
        {
            var (bytes, files) = await BuildOnceAsync(magic, seed, padSectors, commentLengths, ct);
            var found = IsoImageBuilder.FindAll(bytes, magicBytes);
            if (found.Length != targets.Length)
            {
                throw new InvalidOperationException($"Expected {targets.Length} occurrences of the magic string, found {found.Length}.");
            }

            var miss = Enumerable.Range(0, targets.Length).FirstOrDefault(i => found[i] != targets[i], -1);
            if (miss < 0)
            {
                return new BootIsoImage(bytes, magic, found, files, padSectors, commentLengths);
            }

            // Whole sectors of the gap go into the filler in front (which moves the file by whole sectors); the
            // remainder goes into the comment in front of the magic (which moves it within the file's first sectors).
            var shift = commentLengths[miss] + (targets[miss] - found[miss]);
            var sectors = (int)Math.Floor(shift / (double)Sector);
            commentLengths[miss] = (int)(shift - ((long)sectors * Sector));
            padSectors[miss] += sectors;
            if (padSectors[miss] < 1)
            {
                throw new InvalidOperationException("The boot ISO layout needs more filler in front of its first file.");
            }
        }

        throw new InvalidOperationException($"The boot ISO layout did not converge in {MaxBuilds} builds: xorriso's layout changed.");
    }

    /// <summary>
    /// Another version of this image, as an upstream would publish it: the same layout (so the same length and
    /// occurrence offsets, which no length check can tell apart) but different filler in every chunk.
    /// </summary>
    public async Task<BootIsoImage> BuildVariantAsync(int seed, CancellationToken ct)
    {
        var (bytes, files) = await BuildOnceAsync(Magic, seed, _padSectors, _commentLengths, ct);
        var found = IsoImageBuilder.FindAll(bytes, Encoding.ASCII.GetBytes(Magic));
        if (bytes.Length != Bytes.Length || !found.SequenceEqual(Occurrences))
        {
            throw new InvalidOperationException("The variant image does not have the original's layout.");
        }

        return new BootIsoImage(bytes, Magic, found, files, _padSectors, _commentLengths);
    }

    private static async Task<(byte[] Bytes, IReadOnlyDictionary<string, string> Files)> BuildOnceAsync(
        string magic, int seed, int[] padSectors, int[] commentLengths, CancellationToken ct)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ExtraCfgPath] = Comment(commentLengths[0]) + "set hook_cmdline=" + magic + "\nexport hook_cmdline\n",
            [GrubCfgPath] = Comment(commentLengths[1])
                + "set timeout=0\nset default=0\n\nmenuentry 'HookOS (ISO boot)' {\n"
                + GrubLinuxPrefix + magic + "\n\tinitrd /initramfs-x86_64\n}\n",
            [IsolinuxCfgPath] = Comment(commentLengths[2])
                + "DEFAULT hook\nLABEL hook\n\tKERNEL /vmlinuz\n\tINITRD /initramfs-x86_64\n\tAPPEND " + magic + "\n",
        };

        // xorriso writes file data in path order, so each filler sits in front of the config file after it.
        var builder = new IsoImageBuilder()
            .WithVolumeLabel("HOOK_E2E")
            .AddFile("aa/head.bin", IsoImageBuilder.Filler(padSectors[0] * Sector, (seed * 10) + 1))
            .AddTextFile(ExtraCfgPath, files[ExtraCfgPath])
            .AddFile("boot/fill.bin", IsoImageBuilder.Filler(padSectors[1] * Sector, (seed * 10) + 2))
            .AddTextFile(GrubCfgPath, files[GrubCfgPath])
            .AddFile("pad/mid.bin", IsoImageBuilder.Filler(padSectors[2] * Sector, (seed * 10) + 3))
            .AddTextFile(IsolinuxCfgPath, files[IsolinuxCfgPath])
            .AddFile("zz/tail.bin", IsoImageBuilder.Filler(TailSize, (seed * 10) + 4));

        var directory = Directory.CreateTempSubdirectory("isocluster-e2e-iso-");
        try
        {
            var path = await builder.BuildAsync(Path.Combine(directory.FullName, "hook.iso"), ct);
            return (await File.ReadAllBytesAsync(path, ct), files);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    // The comment absorbs the sub-sector part of the layout adjustment; '#' lines are comments in GRUB and ISOLINUX.
    private static string Comment(int length) => "#" + new string('-', length) + "\n";
}
