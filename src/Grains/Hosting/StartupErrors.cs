using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Hosting;

/// <summary>Turns the exceptions that bad settings cause at start into one line per problem, naming the flag.</summary>
public static class StartupErrors
{
    /// <summary>
    /// The operator-facing description of <paramref name="exception"/>, or null when it is not about settings
    /// (and so is a bug that deserves its stack trace).
    /// </summary>
    public static string? Describe(Exception exception, IReadOnlyList<Setting> settings)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(settings);
        switch (exception)
        {
            case AggregateException aggregate:
                var lines = new List<string>();
                foreach (var inner in aggregate.Flatten().InnerExceptions)
                {
                    if (Describe(inner, settings) is not { } line)
                    {
                        return null;
                    }

                    lines.Add(line);
                }

                return string.Join(Environment.NewLine, lines);
            case OptionsValidationException validation:
                return string.Join(Environment.NewLine, validation.Failures);
            case InvalidOperationException invalid:
                // The configuration binder names the key ("... at 'Cache:Size' ..."); add the flag an operator typed.
                foreach (var setting in settings)
                {
                    if (invalid.Message.Contains($"'{setting.ConfigKey}'", StringComparison.OrdinalIgnoreCase))
                    {
                        return $"--{setting.Flag}: {invalid.Message}";
                    }
                }

                return invalid.Message;
            default:
                return null;
        }
    }
}
