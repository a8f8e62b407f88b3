using System.Net;
using System.Net.Sockets;
using IsoCluster.Grains.SourceIso;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// Makes DESIGN invariant 6 hold after DNS for client-supplied sources (<c>?sourceISO=</c>): the connection callback of
/// their HTTP handler. It resolves the host itself, checks every address, and connects only to an address it has just
/// checked, so a name that resolves (or is rebound) to a loopback, link-local, metadata, private or otherwise
/// non-public address is never connected to unless <c>--iso-source-allow-address</c> allows that address.
/// </summary>
/// <remarks>
/// Why at connect time rather than before the request: a check that resolves the name and then lets the handler
/// resolve it again can be beaten by a DNS server that answers a public address to the check and 127.0.0.1 to the
/// connect (rebinding). Here the address checked is the address connected to, on every new connection, so on every
/// redirect hop that opens one. A pooled connection that is reused was opened by this callback to a checked address
/// and a TCP connection never changes its peer, so reuse cannot reach an unchecked address either; that holds only
/// because the handler that owns this callback serves client sources and nothing else (see
/// <see cref="UpstreamClient"/>), so its pool never holds a connection some other, unchecked path opened.
/// </remarks>
public sealed partial class UpstreamAddressGuard
{
    private readonly IPNetwork[] _allowedNetworks;
    private readonly HashSet<IPAddress> _allowlistedLiterals;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;
    private readonly ILogger _logger;

    /// <summary>Creates the guard from the validated <see cref="IsoOptions"/>, resolving names with the system resolver.</summary>
    public UpstreamAddressGuard(IOptions<IsoOptions> options, ILogger<UpstreamAddressGuard> logger)
        : this(options, logger, Dns.GetHostAddressesAsync)
    {
    }

    /// <summary>Creates the guard with its own resolver, so tests can make any name resolve to any address.</summary>
    internal UpstreamAddressGuard(IOptions<IsoOptions> options, ILogger logger, Func<string, CancellationToken, Task<IPAddress[]>> resolve)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger;
        _resolve = resolve;
        var networks = new List<IPNetwork>();
        foreach (var entry in options.Value.SourceAllowAddress)
        {
            if (TryParseNetwork(entry, out var network, out _))
            {
                networks.Add(network);
            }
        }

        _allowedNetworks = [.. networks];

        // An --iso-source-allow prefix whose host is an IP address names that address itself: the operator allowed it.
        _allowlistedLiterals = [];
        foreach (var prefix in options.Value.SourceAllow)
        {
            if (UpstreamUrlPolicy.TryParseHttpUrl(prefix, out var uri, out _) && ParseLiteral(uri.IdnHost) is { } literal)
            {
                _allowlistedLiterals.Add(literal);
            }
        }
    }

    /// <summary>
    /// Parses an <c>--iso-source-allow-address</c> entry: an IP address (one address) or a CIDR block such as
    /// <c>10.0.0.0/8</c> or <c>fd00::/8</c>.
    /// </summary>
    public static bool TryParseNetwork(string? text, out IPNetwork network, out string reason)
    {
        network = default;
        var trimmed = text?.Trim() ?? "";
        if (!trimmed.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(trimmed, out var single))
        {
            single = AddressClasses.Canonical(single);
            network = new IPNetwork(single, single.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            reason = "";
            return true;
        }

        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && IPAddress.TryParse(trimmed.AsSpan(0, slash), out var start) && IPNetwork.TryParse(trimmed, out network))
        {
            // IPNetwork quietly clears bits past the prefix; "10.1.0.0/8" is more likely a mistyped /16 than a wish to
            // allow all of 10/8, and this list widens what a client may reach, so it must say exactly what it allows.
            if (network.BaseAddress.Equals(start))
            {
                reason = "";
                return true;
            }

            reason = $"'{text}' has address bits set past its prefix length; write {network} to allow that whole block";
            return false;
        }

        reason = slash >= 0
            ? $"'{text}' is not a CIDR block such as 10.0.0.0/8 or fd00::/8"
            : $"'{text}' is not an IP address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8)";
        return false;
    }

    /// <summary>The <see cref="SocketsHttpHandler.ConnectCallback"/> of the client-source handler.</summary>
    /// <exception cref="UpstreamAddressRefusedException">Every address of the host is one a client source may not reach.</exception>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var addresses = await CheckAsync(context.DnsEndPoint.Host, context.InitialRequestMessage.RequestUri, cancellationToken);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            // A fresh socket per address: on Linux a socket whose connect failed cannot connect again. Created inside the
            // try, since a host without IPv6 refuses the socket itself and the next (IPv4) address should still be tried.
            Socket? socket = null;
            try
            {
                socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket?.Dispose();
                last = ex;
            }
            catch
            {
                socket?.Dispose();
                throw;
            }
        }

        throw last!;
    }

    /// <summary>
    /// Resolves <paramref name="host"/> and returns the addresses a client source may connect to, in the resolver's
    /// order. Each address left out is logged: a Warning when none is left and the fetch is refused, else Debug (a
    /// name with an IPv4 address allowed and an IPv6 one not would otherwise warn on every new connection).
    /// </summary>
    /// <exception cref="UpstreamAddressRefusedException">No address is left.</exception>
    internal async Task<IPAddress[]> CheckAsync(string host, Uri? url, CancellationToken cancellationToken)
    {
        var literal = ParseLiteral(host);
        var resolved = literal is not null ? [literal] : await _resolve(host, cancellationToken);
        if (resolved.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        var permitted = new List<IPAddress>(resolved.Length);
        var refused = new List<(IPAddress Address, AddressClass Class)>();
        foreach (var candidate in resolved)
        {
            var address = AddressClasses.Canonical(candidate);
            var addressClass = AddressClasses.Of(address);
            if (addressClass == AddressClass.Public || IsAllowed(address) || (literal is not null && _allowlistedLiterals.Contains(address)))
            {
                permitted.Add(address);
            }
            else
            {
                refused.Add((address, addressClass));
            }
        }

        var displayUrl = url is null ? host : IsoSource.ForDisplay(url.ToString());
        foreach (var (address, addressClass) in refused)
        {
            var described = AddressClasses.Describe(addressClass);
            if (permitted.Count == 0)
            {
                LogAddressRefused(_logger, displayUrl, host, address, described);
            }
            else
            {
                LogAddressSkipped(_logger, displayUrl, host, address, described);
            }
        }

        if (permitted.Count == 0)
        {
            throw new UpstreamAddressRefusedException(
                $"'{host}' resolves to {AddressClasses.Describe(refused[0].Class)}, which a client's sourceISO may reach only if --iso-source-allow-address allows it");
        }

        return [.. permitted];
    }

    private static IPAddress? ParseLiteral(string host)
    {
        // Uri.IdnHost writes IPv6 without brackets, Uri.Host with them; accept both.
        var text = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(text, out var address) ? AddressClasses.Canonical(address) : null;
    }

    private bool IsAllowed(IPAddress address)
    {
        foreach (var network in _allowedNetworks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 2050, Level = LogLevel.Warning, Message = "Client source {Url}: not connecting to {Address}, which {Host} resolves to: it is {AddressClass} and --iso-source-allow-address does not allow it")]
    private static partial void LogAddressRefused(ILogger logger, string url, string host, IPAddress address, string addressClass);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Debug, Message = "Client source {Url}: skipping {Address}, which {Host} also resolves to: it is {AddressClass} and --iso-source-allow-address does not allow it")]
    private static partial void LogAddressSkipped(ILogger logger, string url, string host, IPAddress address, string addressClass);
}

/// <summary>A client source's host resolved only to addresses it may not reach; <see cref="UpstreamAddressGuard"/> throws it.</summary>
public sealed class UpstreamAddressRefusedException : IOException
{
    /// <summary>Creates the exception with the one-line reason a client is told.</summary>
    public UpstreamAddressRefusedException(string reason)
        : base(reason)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public UpstreamAddressRefusedException()
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public UpstreamAddressRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
