using System.Globalization;
using System.Text;
using IsoCluster.EndToEnd.Tests.Harness;

namespace IsoCluster.EndToEnd.Tests.Fuzz;

/// <summary>
/// Generates requests from a seeded <see cref="Random"/>: mostly plausible BMC requests with one or two things bent
/// (Range, If-Range and other preconditions, path, MAC, query, method, odd headers), some invalid HTTP that only a raw
/// socket can send. The same seed gives the same requests.
/// </summary>
public sealed class FuzzRequestGenerator(Random random, FuzzGatewayFixture target)
{
    private static readonly string[] Machines = [TestMachines.Mac1, TestMachines.Mac2];

    private readonly string _host = $"{target.Gateway.BaseAddress.Host}:{target.Gateway.BaseAddress.Port}";
    private readonly long _length = target.Length;

    /// <summary>The next request.</summary>
    public FuzzRequest Next()
    {
        var roll = random.Next(100);
        return roll switch
        {
            < 8 => InvalidHttp(),
            _ => Plausible(),
        };
    }

    private FuzzRequest Plausible()
    {
        var labels = new List<string>();
        var machine = Pick(Machines);
        var (path, named) = Chance(30) ? Path(machine, labels) : ($"/iso/{Spell(machine)}/hook.iso", machine);
        var query = Chance(20) ? Query(labels) : "";
        var method = Chance(15) ? Method(labels) : Chance(75) ? "GET" : "HEAD";
        var headers = new List<KeyValuePair<string, string>> { new("Host", _host) };
        var rawOnly = false;

        if (Chance(60))
        {
            labels.Add("range");
            headers.Add(new("Range", RangeValue()));
            if (Chance(5))
            {
                labels.Add("range:twice");
                headers.Add(new("Range", RangeValue()));
                rawOnly = true;
            }
        }

        if (Chance(20))
        {
            labels.Add("if-range");
            headers.Add(new("If-Range", Validator(machine, dates: true)));
        }

        if (Chance(10))
        {
            var name = Pick("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since");
            labels.Add(name.ToLowerInvariant());
            headers.Add(new(name, Validator(machine, dates: name.EndsWith("Since", StringComparison.Ordinal))));
        }

        if (Chance(15))
        {
            rawOnly |= OddHeaders(headers, labels);
        }

        if (Chance(5))
        {
            labels.Add("host");
            headers.RemoveAt(0);
            rawOnly = true;
            switch (random.Next(5))
            {
                case 0:
                    break;
                case 1:
                    headers.Insert(0, new("Host", _host));
                    headers.Add(new("Host", "other.example"));
                    break;
                case 2:
                    headers.Insert(0, new("Host", ""));
                    break;
                case 3:
                    headers.Insert(0, new("Host", Pick("a b", "evil.example", "[::1", "\u00e9.example", "x:99999", "../../etc")));
                    break;
                default:
                    headers.Insert(0, new("Host", _host + "/iso"));
                    break;
            }
        }

        if (labels.Count == 0)
        {
            labels.Add("plain");
        }

        // HttpClient sends only visible ASCII in the target and the fields; anything else goes by raw socket.
        rawOnly |= !IsAscii(path + query) || headers.Exists(h => !IsAscii(h.Key) || !IsAscii(h.Value.Replace('\t', ' ')));
        return new FuzzRequest(string.Join('+', labels), method, path + query, headers, named) { RawOnly = rawOnly };
    }

    // RFC 9110 §14.1.1 grammar, bent: units, separators, numbers that overflow, many members, whitespace.
    private string RangeValue()
    {
        if (Chance(5))
        {
            return Pick("", " ", "bytes", "bytes=", "=0-1", "bytes=,", "bytes= , ,", "none", "bytes=0-1;2-3", "bytes=\t0-1\t", "bytes=0\u20131", "bytes=\uff10-\uff11");
        }

        var unit = Chance(90) ? "bytes" : Pick("BYTES", "Bytes", "items", "byte", "bytesx", "", " bytes", "bytes ");
        var equals = Chance(95) ? "=" : Pick(" =", "= ", ":", "==", "");
        var count = random.Next(100) switch
        {
            < 70 => 1,
            < 85 => random.Next(2, 5),
            < 93 => random.Next(14, 19),
            < 98 => random.Next(40, 120),
            _ => random.Next(800, 1200),
        };
        var specs = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                specs.Append(Chance(85) ? "," : Pick(", ", " ,", ",,", " , ", ";", " ", ",\t"));
            }

            specs.Append(RangeSpec());
        }

        return unit + equals + specs;
    }

    private string RangeSpec() => random.Next(100) switch
    {
        < 45 => $"{Position()}-{Position()}",
        < 65 => $"{Position()}-",
        < 85 => $"-{Position()}",
        _ => Pick("-", "--1", "1--2", "+1-2", "0x10-20", "1.5-2", "a-b", "", " ", "1-2-3", "-0", "0-0", " 1-2 ", "1 - 2", "-1-2", "１-２", "1-\u0000"),
    };

    private string Position() => random.Next(100) switch
    {
        < 30 => Number(random.NextInt64(0, _length)),
        < 40 => Number(Pick(0L, 1L, _length - 1, _length, _length + 1, 2 * _length)),
        < 50 => Number(Pick<long>(FuzzGatewayFixture.ChunkSize - 1, FuzzGatewayFixture.ChunkSize, FuzzGatewayFixture.ChunkSize + 1, (2 * FuzzGatewayFixture.ChunkSize) - 1, 150_000)),
        < 60 => Pick("99999999999999999999", "9223372036854775807", "9223372036854775808", "18446744073709551616", new string('9', random.Next(20, 400))),
        < 65 => "000" + Number(random.NextInt64(0, _length)),
        < 70 => Pick("-5", "+5", "5e3", " 5", "0x5", "٣"),
        _ => Number(random.NextInt64(0, 5000)),
    };

    // If-Range takes a strong entity-tag or an HTTP-date (RFC 9110 §13.1.5); the others an entity-tag list or a date.
    private string Validator(string machine, bool dates)
    {
        var other = machine == TestMachines.Mac1 ? TestMachines.Mac2 : TestMachines.Mac1;
        var modified = target.LastModified;
        var choice = random.Next(100);
        if (dates && choice < 50)
        {
            return random.Next(10) switch
            {
                0 => modified.ToString("R", CultureInfo.InvariantCulture),
                1 => modified.AddSeconds(1).ToString("R", CultureInfo.InvariantCulture),
                2 => modified.AddSeconds(-1).ToString("R", CultureInfo.InvariantCulture),
                3 => modified.UtcDateTime.ToString("dddd, dd-MMM-yy HH:mm:ss 'GMT'", CultureInfo.InvariantCulture),
                4 => modified.UtcDateTime.ToString("ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture),
                5 => "Thu, 01 Jan 1970 00:00:00 GMT",
                6 => "Fri, 31 Dec 9999 23:59:59 GMT",
                7 => Pick("0", "-1", "yesterday", "Mon, 32 Foo 2026 25:61:61 GMT", "2026-01-01T00:00:00Z"),
                8 => modified.ToString("R", CultureInfo.InvariantCulture).ToLowerInvariant(),
                _ => "",
            };
        }

        return random.Next(10) switch
        {
            0 or 1 or 2 => target.ETag(machine),
            3 => target.ETag(other),
            4 => "W/" + target.ETag(machine),
            5 => "*",
            6 => $"\"x\", {target.ETag(machine)}",
            7 => target.ETag(machine).Trim('"'),
            8 => Pick("\"", "\"\"", "W/", "\"a\"\"b\"", ",,,", new string('"', 50)),
            _ => "\"" + Guid.NewGuid().ToString("N") + "\"",
        };
    }

    private (string Path, string? Machine) Path(string machine, List<string> labels)
    {
        labels.Add("path");
        var mac = Spell(machine);
        var choice = random.Next(26);
        return choice switch
        {
            0 => ($"/iso/{BadMac(machine, labels)}/hook.iso", null),
            1 => ($"/iso/{Pick(TestMachines.UnknownMac, "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff")}/hook.iso", null),
            2 => ($"/iso/{mac}/{Pick("hook.img", "hook", "", "hook.iso.sig", "hook.iso%00", "hook.iso%2F", "hook.iso;x", "grub.cfg", "%2e%2e")}", null),
            3 => ($"/iso/{mac}/{Pick("HOOK.ISO", "x.iso", ".iso", "a.IsO", "hook%2Eiso", "%68ook.iso", "h%C3%A9.iso", "ñ.iso")}", machine),
            4 => ($"/iso/{mac}/{new string('a', random.Next(100, 7000))}.iso", machine),
            5 => (Pick("/iso", "/iso/", $"/iso/{mac}", $"/iso/{mac}/", "/iso//hook.iso"), null),
            6 => (Pick($"/iso//{mac}/hook.iso", $"/iso/{mac}//hook.iso", $"/iso/{mac}/sub/hook.iso", $"/iso/{mac}/hook.iso/"), machine),
            7 => (Pick($"/ISO/{mac}/hook.iso", $"/isox/{mac}/hook.iso", $"/iso%2F{mac}/hook.iso", $"/Iso/{mac}/hook.iso"), machine),
            8 => (Pick($"/iso/./{mac}/hook.iso", $"/iso/junk/../{mac}/hook.iso", $"/x/../iso/{mac}/hook.iso", $"/iso/{mac}/./hook.iso"), machine),
            9 => (Pick($"/iso/%2e%2e/{mac}/hook.iso", $"/iso/{mac}/%2e%2e/hook.iso", $"/iso/{mac}/..%2Fhook.iso", $"/iso/.%2e/{mac}/hook.iso"), machine),
            10 => (Pick($"/iso\\{mac}\\hook.iso", $"/iso/{mac}\\hook.iso", $"/iso/{mac}/hook.iso#frag"), machine),
            11 => ($"/iso/{PercentEncode(mac)}/hook.iso", machine),
            12 => ($"/iso/{mac}/hook.iso".Replace("/", "%2F", StringComparison.Ordinal), machine),
            13 => (Pick("/", "/health/live", "/health/ready", "/favicon.ico", "/iso.iso", "*"), null),
            14 => ($"/iso/{mac}/{Pick("hook\u0000.iso", "hook\r.iso", "hook .iso", "hook\u00e9.iso", "hook\n.iso")}", machine),
            15 => ($"http://{_host}/iso/{mac}/hook.iso", machine),
            16 => ($"/iso/{mac}/hook.iso%0D%0AX-Injected:%20yes", null),
            17 => ($"/iso/{Pick("%", "%zz", "%C3", "%FF%FE", "%u0041")}/hook.iso", null),
            _ => ($"/iso/{mac}/hook.iso", machine),
        };
    }

    // Valid spellings RequestValidationTests lists: colon, dash or dotted, any case.
    private string Spell(string machine)
    {
        var hex = machine.Replace(":", "", StringComparison.Ordinal);
        hex = random.Next(4) switch
        {
            0 => hex.ToUpperInvariant(),
            1 => string.Concat(hex.Select(c => Chance(50) ? char.ToUpperInvariant(c) : c)),
            _ => hex,
        };
        return random.Next(3) switch
        {
            0 => string.Join(':', hex.Chunk(2).Select(p => new string(p))),
            1 => string.Join('-', hex.Chunk(2).Select(p => new string(p))),
            _ => string.Join('.', hex.Chunk(4).Select(p => new string(p))),
        };
    }

    private string BadMac(string machine, List<string> labels)
    {
        labels.Add("mac");
        var mac = Spell(machine);
        return random.Next(14) switch
        {
            0 => mac[..^1],
            1 => mac + "0",
            2 => mac[..^1] + "g",
            3 => mac.Replace(':', '-')[..5] + ":" + mac[6..],
            4 => machine.Replace(":", "", StringComparison.Ordinal),
            5 => "",
            6 => "%20" + mac,
            7 => mac + "%00",
            8 => new string('b', random.Next(18, 600)),
            9 => "b4:96:91:6e:2c:１０",
            10 => string.Concat(mac.Select(c => c is ':' or '-' or '.' ? "%2F" : c.ToString())),
            11 => "..",
            12 => "b4::96:91:6e:2c:1",
            _ => "not-a-mac",
        };
    }

    private string Query(List<string> labels)
    {
        labels.Add("query");
        var good = Uri.EscapeDataString(target.SourceIsoUrl);
        return random.Next(18) switch
        {
            0 => $"?sourceISO={good}",
            1 => $"?sourceISO={good}&sourceISO=junk",
            2 => $"?sourceISO=junk&sourceISO={good}",
            3 => "?sourceISO=",
            4 => "?sourceISO",
            5 => $"?sourceiso={good}",
            6 => "?foo=bar&&&=",
            7 => "?sourceISO=%zz%",
            8 => "?sourceISO=" + Uri.EscapeDataString("http://169.254.169.254/latest/meta-data/"),
            9 => "?sourceISO=" + Uri.EscapeDataString("file:///etc/passwd"),
            10 => "?sourceISO=" + new string('x', random.Next(100, 6000)),
            11 => "?sourceISO=%0D%0AX-Injected:%201",
            12 => "?sourceISO=" + Uri.EscapeDataString(target.SourceIsoUrl + "?x=1"),
            13 => "?sourceISO=" + Uri.EscapeDataString(target.SourceIsoUrl.Replace("/files/", "/files/./", StringComparison.Ordinal)),
            14 => "?sourceISO=" + Uri.EscapeDataString(target.SourceIsoUrl.Replace("/files/", "/files-private/", StringComparison.Ordinal)),
            15 => "?sourceISO=" + Uri.EscapeDataString("http://user:pw@" + target.SourceIsoUrl["http://".Length..]),
            16 => "?sourceISO=h%C3%A9llo&x=%E2%80%A8",
            _ => "?" + new string('&', random.Next(1, 50)),
        };
    }

    private string Method(List<string> labels)
    {
        labels.Add("method");
        return Pick("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "FOO", "get", "head", "PROPFIND", "M-SEARCH");
    }

    // Fields a BMC or a proxy may add, some legal, some not. True when only a raw socket can send them.
    private bool OddHeaders(List<KeyValuePair<string, string>> headers, List<string> labels)
    {
        labels.Add("headers");
        switch (random.Next(12))
        {
            case 0:
                headers.Add(new("Accept-Encoding", "gzip, deflate, br"));
                return false;
            case 1:
                headers.Add(new("Connection", Pick("close", "keep-alive", "Upgrade, HTTP2-Settings")));
                headers.Add(new("Upgrade", "h2c"));
                headers.Add(new("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"));
                return true;
            case 2:
                headers.Add(new("Expect", "100-continue"));
                return true;
            case 3:
                headers.Add(new("X-Filler", new string('z', random.Next(1000, 9000))));
                return false;
            case 4:
                for (var i = 0; i < random.Next(10, 40); i++)
                {
                    headers.Add(new($"X-Extra-{i}", i.ToString(CultureInfo.InvariantCulture)));
                }

                return false;
            case 5:
                headers.Add(new("User-Agent", "\u00e9\u00e8 BMC/1.0 \u2603"));
                return true;
            case 6:
                headers.Add(new("Content-Length", Pick("0", "-1", "abc", "1, 1", "99999999999999999999")));
                return true;
            case 7:
                headers.Add(new("Transfer-Encoding", Pick("gzip", "identity", "chunked, gzip")));
                return true;
            case 8:
                headers.Add(new("X-Forwarded-For", "10.0.0.1, 10.0.0.2"));
                headers.Add(new("X-Forwarded-Proto", "https"));
                return false;
            case 9:
                headers.Add(new("Authorization", "Basic " + Convert.ToBase64String(Encoding.ASCII.GetBytes("admin:admin"))));
                return false;
            case 10:
                headers.Add(new("Cookie", new string('c', random.Next(10, 4000))));
                return false;
            default:
                headers.Add(new(Pick("X-Empty", "Range-Unit", "Accept-Ranges"), ""));
                return true;
        }
    }

    // RFC 9112 grammar broken in the ways a fuzzer or a broken BMC firmware would: only a raw socket sends these.
    private FuzzRequest InvalidHttp()
    {
        var machine = Pick(Machines);
        var path = $"/iso/{Spell(machine)}/hook.iso";
        var host = $"Host: {_host}\r\n";
        var (label, text, oddVersion) = random.Next(26) switch
        {
            0 => ("line:trailing", $"GET {path} HTTP/1.1 junk\r\n{host}\r\n", false),
            1 => ("line:double-space", $"GET  {path} HTTP/1.1\r\n{host}\r\n", false),
            2 => ("line:version", $"GET {path} HTTP/{Pick("2.0", "1.2", "3", "0.9", "9.9")}\r\n{host}\r\n", true),
            3 => ("line:version-case", $"GET {path} http/1.1\r\n{host}\r\n", true),
            4 => ("line:no-version", $"GET {path}\r\n{host}\r\n", true),
            5 => ("host:missing", $"GET {path} HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n", false),
            6 => ("host:twice", $"GET {path} HTTP/1.1\r\n{host}{host}\r\n", false),
            7 => ("header:no-colon", $"GET {path} HTTP/1.1\r\n{host}Range bytes=0-1\r\n\r\n", false),
            8 => ("header:space-in-name", $"GET {path} HTTP/1.1\r\n{host}Ran ge: bytes=0-1\r\n\r\n", false),
            9 => ("header:space-before-colon", $"GET {path} HTTP/1.1\r\n{host}Range : bytes=0-1\r\n\r\n", false),
            10 => ("header:obs-fold", $"GET {path} HTTP/1.1\r\n{host}Range: bytes=0-1,\r\n 4-5\r\n\r\n", false),
            11 => ("line:bare-lf", $"GET {path} HTTP/1.1\n{host.Replace("\r\n", "\n", StringComparison.Ordinal)}\n\r\n\r\n", false),
            12 => ("header:nul", $"GET {path} HTTP/1.1\r\n{host}Range: bytes=0-1\0\r\n\r\n", false),
            13 => ("line:nul", $"GET {path}\0 HTTP/1.1\r\n{host}\r\n", false),
            14 => ("line:raw-utf8", $"GET /iso/ß/hook.iso HTTP/1.1\r\n{host}\r\n", false),
            15 => ("line:asterisk", $"{Pick("GET", "OPTIONS")} * HTTP/1.1\r\n{host}\r\n", false),
            16 => ("line:connect", $"CONNECT {_host} HTTP/1.1\r\n{host}\r\n", false),
            17 => ("line:method-char", $"GE\tT {path} HTTP/1.1\r\n{host}\r\n", false),
            18 => ("body:cl-and-te", $"GET {path} HTTP/1.1\r\n{host}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
            19 => ("body:chunked", $"GET {path} HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false),
            20 => ("body:content-length", $"GET {path} HTTP/1.1\r\n{host}Content-Length: 5\r\n\r\nhello", false),
            21 => ("body:post", $"POST {path} HTTP/1.1\r\n{host}Content-Length: 11\r\n\r\nhello world", false),
            22 => ("line:empty-lines-first", $"\r\n\r\nGET {path} HTTP/1.1\r\n{host}\r\n", false),
            23 => ("line:http10", $"GET {path} HTTP/1.0\r\nRange: bytes=0-99\r\n\r\n", false),
            24 => ("header:huge-range", $"GET {path} HTTP/1.1\r\n{host}Range: bytes={string.Join(',', Enumerable.Range(0, 1300).Select(i => $"{i * 2}-{i * 2}"))}\r\n\r\n", false),
            _ => ("line:lowercase-method", $"head {path} HTTP/1.1\r\n{host}\r\n", false),
        };

        // A lowercase "head" is a different method (RFC 9110 §9.1: methods are case-sensitive), answered with a body.
        return new FuzzRequest("http:" + label, "GET", path, [], machine, Encoding.UTF8.GetBytes(text)) { OddVersion = oddVersion, RawOnly = true };
    }

    private static string PercentEncode(string text) =>
        string.Concat(text.Select(c => "%" + ((int)c).ToString("X2", CultureInfo.InvariantCulture)));

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static bool IsAscii(string text) => text.All(c => c is >= ' ' and < '\u007f');

    private bool Chance(int percent) => random.Next(100) < percent;

    private T Pick<T>(params T[] choices) => choices[random.Next(choices.Length)];
}
