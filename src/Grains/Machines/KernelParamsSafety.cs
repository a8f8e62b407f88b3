namespace IsoCluster.Grains.Machines;

/// <summary>
/// Decides whether a value can sit inside one kernel parameter on a GRUB <c>linux</c> line. GRUB re-parses the
/// patched line: <c>$</c> expands variables, <c>;</c> and <c>&amp;</c> and <c>|</c> end or chain commands, quotes and
/// backslashes are consumed, braces group, <c>&lt;</c> and <c>&gt;</c> are reserved, <c>#</c> can start a comment, and
/// whitespace splits one value into two parameters. Control and non-ASCII characters have no business on a kernel
/// command line and would not survive the ASCII patch.
/// </summary>
internal static class KernelParamsSafety
{
    /// <summary>What is wrong with <paramref name="value"/>, phrased to follow its name, or null when it is safe.</summary>
    public static string? FindProblem(string? value)
    {
        if (value is null)
        {
            return null;
        }

        foreach (var c in value)
        {
            var problem = c switch
            {
                '$' => "contains '$', which GRUB would expand",
                ';' => "contains ';', which would end the GRUB command",
                '&' or '|' => $"contains '{c}', which GRUB treats as a command separator",
                '"' or '\'' => $"contains '{c}', which GRUB would consume as a quote",
                '\\' => "contains '\\', which GRUB would consume as an escape",
                '{' or '}' => $"contains '{c}', which GRUB treats as a block delimiter",
                '<' or '>' => $"contains '{c}', which GRUB reserves for redirection",
                '#' => "contains '#', which GRUB may treat as the start of a comment",
                ' ' => "contains a space, which would split it into two kernel parameters",
                < ' ' or '\u007f' => $"contains the control character U+{(int)c:X4}",
                > '\u007f' => $"contains the non-ASCII character U+{(int)c:X4}",
                _ => null,
            };
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }
}
