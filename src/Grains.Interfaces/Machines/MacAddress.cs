using System.Diagnostics.CodeAnalysis;

namespace IsoCluster.Grains.Machines;

/// <summary>
/// A 48-bit IEEE 802 MAC address, the identity of a machine. Parses the colon (<c>de:ed:be:ef:fe:ed</c>),
/// dash (<c>de-ed-be-ef-fe-ed</c>) and dotted Cisco (<c>deed.beef.feed</c>) spellings in any case, and prints
/// the lowercase colon form, which is the canonical machine key across the cluster.
/// </summary>
[GenerateSerializer, Immutable, Alias("IsoCluster.MacAddress")]
public readonly record struct MacAddress
{
    private const ulong MaxValue = 0xFFFF_FFFF_FFFF;

    // Six pairs and five separators; three groups of four and two dots.
    private const int SeparatedLength = 17;
    private const int DottedLength = 14;

    // The reason goes into a 400 body: echo enough to recognise the input, never an unbounded client string.
    private const int MaxEchoedLength = 64;

    private const string Expected =
        "expected 6 hex pairs separated by ':' or '-', or 3 groups of 4 separated by '.'";

    /// <summary>Creates a MAC address from its 48-bit value, first octet in the most significant position.</summary>
    /// <param name="value">The address; at most <c>0xFFFF_FFFF_FFFF</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> needs more than 48 bits.</exception>
    public MacAddress(ulong value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxValue);
        Value = value;
    }

    /// <summary>The address as a 48-bit number, first octet in bits 40–47.</summary>
    [Id(0)]
    public ulong Value { get; }

    /// <summary>Parses a MAC address in colon, dash or dotted form, in any case.</summary>
    /// <param name="text">The text to parse; surrounding whitespace is not accepted.</param>
    /// <returns>The address.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="text"/> is not a MAC address; the message says why.</exception>
    public static MacAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var mac, out var error) ? mac : throw new FormatException(error);
    }

    /// <summary>Parses a MAC address in colon, dash or dotted form, in any case, without throwing.</summary>
    /// <param name="text">The text to parse; surrounding whitespace is not accepted.</param>
    /// <param name="mac">The address, or the all-zero address when parsing fails.</param>
    /// <param name="error">
    /// Null on success; otherwise a one-line reason that quotes (a bounded prefix of) the input, fit for a 400 body.
    /// </param>
    /// <returns>True when <paramref name="text"/> is a MAC address.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out MacAddress mac, [NotNullWhen(false)] out string? error)
    {
        ulong value = 0;
        bool parsed = text.Length switch
        {
            SeparatedLength => TryParseSeparated(text, out value),
            DottedLength => TryParseDotted(text, out value),
            _ => false,
        };

        if (parsed)
        {
            mac = new MacAddress(value);
            error = null;
            return true;
        }

        mac = default;
        error = text.IsEmpty
            ? "An empty string is not a MAC address: " + Expected
            : "'" + Echo(text) + "' is not a MAC address: " + Expected;
        return false;
    }

    /// <summary>The lowercase colon form, e.g. <c>de:ed:be:ef:fe:ed</c>: the canonical machine key.</summary>
    /// <returns>The address as 17 characters.</returns>
    public override string ToString() => Format(':');

    /// <summary>The lowercase dash form, e.g. <c>de-ed-be-ef-fe-ed</c>.</summary>
    /// <returns>The address as 17 characters.</returns>
    public string ToDashedString() => Format('-');

    private string Format(char separator) =>
        string.Create(SeparatedLength, (Value, separator), static (span, state) =>
        {
            for (int octet = 0; octet < 6; octet++)
            {
                int position = octet * 3;
                int bits = (int)(state.Value >> (40 - (octet * 8))) & 0xFF;
                span[position] = "0123456789abcdef"[bits >> 4];
                span[position + 1] = "0123456789abcdef"[bits & 0xF];
                if (octet < 5)
                {
                    span[position + 2] = state.separator;
                }
            }
        });

    private static bool TryParseSeparated(ReadOnlySpan<char> text, out ulong value)
    {
        value = 0;

        // The first separator fixes the style, so "de:ed-be:..." is rejected rather than guessed at.
        char separator = text[2];
        if (separator is not (':' or '-'))
        {
            return false;
        }

        for (int i = 0; i < SeparatedLength; i++)
        {
            if (i % 3 == 2)
            {
                if (text[i] != separator)
                {
                    return false;
                }
            }
            else if (!TryAppendNibble(text[i], ref value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseDotted(ReadOnlySpan<char> text, out ulong value)
    {
        value = 0;
        for (int i = 0; i < DottedLength; i++)
        {
            if (i % 5 == 4)
            {
                if (text[i] != '.')
                {
                    return false;
                }
            }
            else if (!TryAppendNibble(text[i], ref value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryAppendNibble(char c, ref ulong value)
    {
        int nibble = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
        if (nibble < 0)
        {
            return false;
        }

        value = (value << 4) | (uint)nibble;
        return true;
    }

    // Control characters would break the one-line reason (and a log line that repeats it).
    private static string Echo(ReadOnlySpan<char> text)
    {
        bool truncated = text.Length > MaxEchoedLength;
        ReadOnlySpan<char> shown = truncated ? text[..MaxEchoedLength] : text;
        Span<char> buffer = stackalloc char[MaxEchoedLength + 3];
        for (int i = 0; i < shown.Length; i++)
        {
            buffer[i] = char.IsControl(shown[i]) ? '?' : shown[i];
        }

        int length = shown.Length;
        if (truncated)
        {
            "...".AsSpan().CopyTo(buffer[length..]);
            length += 3;
        }

        return new string(buffer[..length]);
    }
}
