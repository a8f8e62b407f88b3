using System.Globalization;

namespace IsoCluster.Cli.Output;

/// <summary>Byte counts and rates as people read them: 1023 B, 5.0 MiB, 1.0 GiB.</summary>
public static class ByteCount
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    /// <summary>Formats <paramref name="bytes"/> in binary units with one decimal above bytes.</summary>
    public static string Format(double bytes)
    {
        var unit = 0;
        while (Math.Abs(bytes) >= 1024 && unit < Units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {Units[unit]}");
    }
}
