using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Admin;

/// <summary>The admin API's settings (configuration section <c>Admin</c>).</summary>
public sealed class AdminOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Admin";

    /// <summary>
    /// A file holding the bearer token that admin calls which change something (POST, PUT, DELETE) must carry
    /// (<c>--admin-token-file</c>); surrounding whitespace is ignored and edits are picked up. Default: none, and such
    /// calls are refused.
    /// </summary>
    public string? TokenFile { get; set; }
}

/// <summary>Checks at start that the token file, when set, can be read and holds a token.</summary>
internal sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options) =>
        string.IsNullOrEmpty(options.TokenFile) || AdminToken.TryRead(options.TokenFile, out _, out var reason)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"--admin-token-file (Admin:TokenFile): {reason}");
}
