using System.ComponentModel;
using System.Globalization;

namespace IsoCluster.Grains.SourceIso;

/// <summary>A number of bytes written as <c>1048576</c>, <c>512KiB</c>, <c>64MiB</c> or <c>2GiB</c> in settings.</summary>
[TypeConverter(typeof(ByteSizeConverter))]
public readonly record struct ByteSize(long Bytes)
{
    /// <summary>A size of <paramref name="mebibytes"/> MiB.</summary>
    public static ByteSize FromMebibytes(long mebibytes) => new(mebibytes * 1024 * 1024);

    /// <summary>Parses a size; units are binary (KiB, MiB, GiB; K, M, G mean the same).</summary>
    public static bool TryParse(string? text, out ByteSize size)
    {
        size = default;
        var span = text.AsSpan().Trim();
        var digits = 0;
        while (digits < span.Length && char.IsAsciiDigit(span[digits]))
        {
            digits++;
        }

        if (digits == 0 || !long.TryParse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        long multiplier = span[digits..].Trim().ToString().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KIB" => 1024,
            "M" or "MIB" => 1024 * 1024,
            "G" or "GIB" => 1024 * 1024 * 1024,
            _ => 0,
        };
        if (multiplier == 0 || value > long.MaxValue / multiplier)
        {
            return false;
        }

        size = new ByteSize(value * multiplier);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => Bytes switch
    {
        >= 1L << 30 when Bytes % (1L << 30) == 0 => $"{Bytes >> 30}GiB",
        >= 1L << 20 when Bytes % (1L << 20) == 0 => $"{Bytes >> 20}MiB",
        >= 1L << 10 when Bytes % (1L << 10) == 0 => $"{Bytes >> 10}KiB",
        _ => Bytes.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>Lets configuration binding read <see cref="ByteSize"/> from strings such as <c>512MiB</c>.</summary>
public sealed class ByteSizeConverter : TypeConverter
{
    /// <inheritdoc />
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) =>
        sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    /// <inheritdoc />
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text
            ? ByteSize.TryParse(text, out var size)
                ? size
                : throw new FormatException($"'{text}' is not a size: write bytes, or a number with KiB, MiB or GiB")
            : base.ConvertFrom(context, culture, value);
}
