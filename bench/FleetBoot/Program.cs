namespace IsoCluster.FleetBoot;

/// <summary>
/// The fleet-boot load client used by <c>bench/fleet-boot.sh</c>: <c>prepare</c> writes a synthetic ISO and a fleet's
/// Hardware objects; <c>run</c> boots the fleet against a URL and prints throughput, latency and errors.
/// </summary>
internal static class FleetBootProgram
{
    private const string Usage = """
        usage:
          fleet-boot prepare --dir DIR [--size-mib 128] [--machines 32] [--occurrences A,B,...]
              writes DIR/hook.iso (seeded random bytes, the HookOS magic string 3 times, one across a 1 MiB boundary,
              or at the ascending byte offsets --occurrences lists),
              DIR/hardware.yaml (Tinkerbell Hardware, one per machine) and DIR/machines.txt
          fleet-boot run --label NAME --url URL --source DIR/hook.iso --machines DIR/machines.txt
                         [--clients 32] [--piece-kib 64] [--time-limit-s 120] [--patched] [--read-mib N]
              every client reads the whole ISO (or its first N MiB) once in sequential Range requests from URL ({mac}
              is replaced by the client's MAC); --patched verifies the gateway's per-machine patch instead of
              byte-for-byte equality
          fleet-boot free-ports [--count 1]
              prints that many distinct loopback TCP ports that were free a moment ago, one per line
        """;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return args[0] switch
            {
                "prepare" => FleetFixture.Prepare(CommandArgs.Parse(args.AsSpan(1), FleetFixture.Arguments)),
                "run" => await FleetBootPass.RunAsync(CommandArgs.Parse(args.AsSpan(1), FleetBootPass.Arguments)),
                "free-ports" => FreePorts.Print(CommandArgs.Parse(args.AsSpan(1), FreePorts.Arguments)),
                _ => throw new ArgumentException($"unknown command '{args[0]}'; expected prepare, run or free-ports"),
            };
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"fleet-boot: {ex.Message}");
            return 2;
        }
    }
}
