using System.Text;

namespace IsoCluster.EndToEnd.Tests.Fuzz;

/// <summary>One generated request.</summary>
/// <param name="Label">What kind of input it tries, for failure messages.</param>
/// <param name="Method">The method as sent.</param>
/// <param name="Target">The request-target as sent, byte for byte (UTF-8).</param>
/// <param name="Headers">Header fields in order, Host included (it may be missing, repeated or odd).</param>
/// <param name="Machine">
/// The test machine whose MAC the path spells (in any form), or null when it names none: a 200 or 206 must then
/// carry exactly that machine's bytes, and with no machine there must be no ISO at all.
/// </param>
/// <param name="Raw">
/// Exact bytes to send instead of the fields above (invalid HTTP that no client library would produce), or null.
/// </param>
public sealed record FuzzRequest(
    string Label,
    string Method,
    string Target,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    string? Machine,
    byte[]? Raw = null)
{
    /// <summary>Whether the request line names a version other than HTTP/1.0 or 1.1, which Kestrel may answer with 505.</summary>
    public bool OddVersion { get; init; }

    /// <summary>Whether only a raw socket can send it (HttpClient would refuse or rewrite it).</summary>
    public bool RawOnly { get; init; }

    /// <summary>Whether the request is HEAD, whose response has no body.</summary>
    public bool IsHead => Method == "HEAD";

    /// <summary>The bytes on the wire.</summary>
    public byte[] ToWire()
    {
        if (Raw is not null)
        {
            return Raw;
        }

        var text = new StringBuilder();
        text.Append(Method).Append(' ').Append(Target).Append(" HTTP/1.1\r\n");
        foreach (var (name, value) in Headers)
        {
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        text.Append("\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"[{Label}] {Harness.RawHttpConnection.Show(ToWire())}";
}
