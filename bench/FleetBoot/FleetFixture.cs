using System.Globalization;

namespace IsoCluster.FleetBoot;

/// <summary>
/// The <c>prepare</c> command: a synthetic ISO with the magic string in awkward places, and the Hardware objects and
/// machine list of a fleet.
/// </summary>
internal static class FleetFixture
{
    /// <summary>The synthetic ISO's file name.</summary>
    public const string IsoName = "hook.iso";

    /// <summary>The Hardware YAML's file name.</summary>
    public const string HardwareName = "hardware.yaml";

    /// <summary>The machine list's file name (one <c>mac facility vlan</c> per line).</summary>
    public const string MachinesName = "machines.txt";

    /// <summary>The names <c>prepare</c> accepts.</summary>
    public static readonly string[] Arguments = ["dir", "size-mib", "machines", "occurrences"];

    private const long MiB = 1024 * 1024;
    private const int Piece = 64 * 1024;

    /// <summary>Writes the ISO, the Hardware YAML and the machine list into <c>--dir</c>.</summary>
    public static int Prepare(CommandArgs args)
    {
        var dir = args.Required("dir");
        var sizeMib = args.Integer("size-mib", 128, 4, 1024);
        var count = args.Integer("machines", 32, 1, FleetMachine.MaxCount);
        Directory.CreateDirectory(dir);

        var length = sizeMib * MiB;
        var quarter = sizeMib / 4;
        long[] occurrences = args.Optional("occurrences") is { } list
            ? ParseOccurrences(list, length)
            :
            [
                // Across a 1 MiB boundary: two chunks and two 64 KiB requests each hold part of it.
                (quarter * MiB) - 300,

                // Wholly inside one request and one chunk.
                (2 * quarter * MiB) + 20_000,

                // Across a 64 KiB request boundary inside one chunk.
                (3 * quarter * MiB) + (5 * Piece) - 100,
            ];
        var isoPath = Path.Combine(dir, IsoName);
        SourceImage.Write(isoPath, length, occurrences);
        var found = SourceImage.Load(isoPath).Occurrences;
        if (!found.SequenceEqual(occurrences))
        {
            throw new InvalidOperationException($"{isoPath}: expected the magic string at {string.Join(", ", occurrences)}, found it at {string.Join(", ", found)}");
        }

        var machines = Enumerable.Range(0, count).Select(FleetMachine.ForIndex).ToArray();
        FleetMachine.WriteHardware(Path.Combine(dir, HardwareName), machines);
        FleetMachine.WriteList(Path.Combine(dir, MachinesName), machines);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"prepared {dir}: {IsoName} {length} bytes ({sizeMib} MiB), magic string at {string.Join(", ", occurrences)}; {count} machines in {HardwareName} and {MachinesName}"));
        return 0;
    }

    // "a,b,c": ascending byte offsets, each occurrence wholly inside the ISO and apart from the others.
    private static long[] ParseOccurrences(string list, long length)
    {
        var offsets = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(text => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ArgumentException($"--occurrences: '{text}' is not a byte offset"))
            .ToArray();
        for (var i = 0; i < offsets.Length; i++)
        {
            if (offsets[i] + SourceImage.Magic.Length > length || (i > 0 && offsets[i] < offsets[i - 1] + SourceImage.Magic.Length))
            {
                throw new ArgumentException($"--occurrences: {offsets[i]} is not ascending, apart from the previous one and inside the {length}-byte ISO");
            }
        }

        return offsets.Length > 0 ? offsets : throw new ArgumentException("--occurrences lists no offset");
    }
}
