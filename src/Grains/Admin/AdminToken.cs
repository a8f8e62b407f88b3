using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Admin;

/// <summary>How a request's bearer token compares with the configured one.</summary>
public enum AdminTokenCheck
{
    /// <summary>The request carries the configured token.</summary>
    Accepted = 0,

    /// <summary>No token file is configured, so nothing that changes state is allowed.</summary>
    Off = 1,

    /// <summary>The request carries no bearer token.</summary>
    Missing = 2,

    /// <summary>The request carries a token that is not the configured one.</summary>
    Wrong = 3,
}

/// <summary>
/// The admin API's bearer token, read from <see cref="AdminOptions.TokenFile"/>. The file is looked at again on each
/// check and re-read when it changed, so a rotated token takes effect without a restart; a file that turns unreadable
/// or empty keeps the last good token (and says so in the log) rather than locking the operator out.
/// </summary>
public sealed partial class AdminToken
{
    private readonly string? _path;
    private readonly ILogger<AdminToken> _logger;
    private readonly Lock _lock = new();
    private byte[] _token = [];
    private (DateTime WrittenAt, long Length) _stamp;

    /// <summary>Reads the token file named by <paramref name="options"/>, if any.</summary>
    public AdminToken(IOptions<AdminOptions> options, ILogger<AdminToken> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _path = string.IsNullOrEmpty(options.Value.TokenFile) ? null : options.Value.TokenFile;
        _logger = logger;
        if (_path is not null)
        {
            Refresh(_path);
        }
    }

    /// <summary>Whether a token file is configured.</summary>
    public bool IsConfigured => _path is not null;

    /// <summary>Reads and trims the token in <paramref name="path"/>.</summary>
    /// <returns>False with the reason when the file cannot be read or holds only whitespace.</returns>
    public static bool TryRead(string path, out string token, out string reason)
    {
        ArgumentNullException.ThrowIfNull(path);
        token = "";
        try
        {
            token = File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            reason = $"cannot read '{path}': {ex.Message}";
            return false;
        }

        reason = token.Length == 0 ? $"'{path}' holds no token (it is empty or only whitespace)" : "";
        return token.Length > 0;
    }

    /// <summary>Compares the bearer token in <paramref name="authorization"/> (an Authorization header) with the configured one.</summary>
    public AdminTokenCheck Check(string? authorization)
    {
        if (_path is null)
        {
            return AdminTokenCheck.Off;
        }

        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || authorization.Length == Scheme.Length)
        {
            return AdminTokenCheck.Missing;
        }

        var presented = Encoding.UTF8.GetBytes(authorization.AsSpan(Scheme.Length).Trim().ToString());
        var expected = Refresh(_path);

        // Constant-time, so response timing does not tell an attacker how much of a guess was right.
        return CryptographicOperations.FixedTimeEquals(presented, expected) ? AdminTokenCheck.Accepted : AdminTokenCheck.Wrong;
    }

    private byte[] Refresh(string path)
    {
        lock (_lock)
        {
            var file = new FileInfo(path);
            var stamp = file.Exists ? (file.LastWriteTimeUtc, file.Length) : default;
            if (stamp == _stamp && _token.Length > 0)
            {
                return _token;
            }

            if (TryRead(path, out var token, out var reason))
            {
                if (_token.Length > 0)
                {
                    LogTokenReloaded(_logger, path);
                }

                _token = Encoding.UTF8.GetBytes(token);
            }
            else
            {
                LogTokenUnreadable(_logger, path, reason);
            }

            _stamp = stamp;
            return _token;
        }
    }

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "Admin token file {Path} changed; its new token is in effect")]
    private static partial void LogTokenReloaded(ILogger logger, string path);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "Admin token file {Path} could not be used ({Reason}); the last good token stays in effect")]
    private static partial void LogTokenUnreadable(ILogger logger, string path, string reason);
}
