using System.Globalization;

namespace IsoCluster.Cli.Output;

/// <summary>
/// Shows how far a long call has got: on a terminal, one bar redrawn in place; otherwise (a pipe, a log file, CI) a
/// plain line each time the numbers change, so the output reads well where carriage returns do not.
/// </summary>
public sealed class ProgressBar
{
    private const int Width = 30;
    private readonly TextWriter _writer;
    private readonly bool _interactive;
    private string? _last;

    /// <summary>Creates the display on <paramref name="writer"/>; <paramref name="interactive"/> when it is a terminal.</summary>
    public ProgressBar(TextWriter writer, bool interactive)
    {
        _writer = writer;
        _interactive = interactive;
    }

    /// <summary>Shows <paramref name="done"/> of <paramref name="total"/> with <paramref name="detail"/> after it.</summary>
    public void Update(long done, long total, string detail)
    {
        var fraction = total <= 0 ? 1.0 : Math.Clamp((double)done / total, 0, 1);
        var percent = string.Create(CultureInfo.InvariantCulture, $"{fraction * 100,3:0}%");
        if (_interactive)
        {
            var filled = (int)Math.Round(fraction * Width);
            var text = $"\r[{new string('#', filled)}{new string('-', Width - filled)}] {percent} {detail}";
            if (text != _last)
            {
                _writer.Write(text);
                _writer.Flush();
                _last = text;
            }
        }
        else
        {
            var text = $"{percent} {detail}";
            if (text != _last)
            {
                _writer.WriteLine(text);
                _last = text;
            }
        }
    }

    /// <summary>Ends the bar's line on a terminal, so what follows starts on its own.</summary>
    public void Finish()
    {
        if (_interactive && _last is not null)
        {
            _writer.WriteLine();
        }
    }
}
