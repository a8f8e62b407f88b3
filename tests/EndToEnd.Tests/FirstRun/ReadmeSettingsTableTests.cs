using IsoCluster.Gateway.Hosting;

namespace IsoCluster.EndToEnd.Tests.FirstRun;

/// <summary>The README's settings table is the gateway's <c>--help</c>, row for row: a new or changed flag shows there.</summary>
public sealed class ReadmeSettingsTableTests
{
    [Fact]
    public void SettingsTable_EqualsEveryGatewaySettingInHelpOrder()
    {
        var expected = GatewaySettings.All
            .Select(setting => $"| `{Cell(setting.Form)}` | {Cell(setting.Description)} | {Cell(setting.Default)} | `{setting.ConfigKey}` |")
            .ToArray();

        var lines = File.ReadAllLines(Path.Combine(RepositoryFiles.Root, "README.md"));
        var section = Array.IndexOf(lines, "## Settings");
        Assert.True(section >= 0, "README.md has no '## Settings' heading");
        var actual = lines
            .Skip(section + 1)
            .TakeWhile(line => !line.StartsWith("## ", StringComparison.Ordinal))
            .Where(line => line.StartsWith("| `--", StringComparison.Ordinal))
            .ToArray();

        Assert.True(
            expected.SequenceEqual(actual),
            "README.md's settings table differs from --help; its rows should read:\n" + string.Join('\n', expected));
    }

    // A '|' would end the table cell, even inside a code span.
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
