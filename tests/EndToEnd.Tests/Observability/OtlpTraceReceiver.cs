using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IsoCluster.EndToEnd.Tests.Observability;

/// <summary>One span as an OTLP exporter sent it.</summary>
/// <param name="Service">The <c>service.name</c> of the process that made it.</param>
/// <param name="Scope">The instrumentation scope (activity source) that made it.</param>
/// <param name="TraceId">The trace id, hex.</param>
/// <param name="SpanId">The span id, hex.</param>
/// <param name="ParentSpanId">The parent's span id, hex; empty for a root.</param>
/// <param name="Name">The span name.</param>
/// <param name="Kind">OTLP's span kind: 1 internal, 2 server, 3 client.</param>
/// <param name="Attributes">String and integer attributes.</param>
public sealed record ReceivedSpan(
    string Service,
    string Scope,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    string Name,
    int Kind,
    IReadOnlyDictionary<string, string> Attributes)
{
    public override string ToString() => $"{Service} [{Scope}] {Name} kind={Kind} trace={TraceId} span={SpanId} parent={ParentSpanId}";
}

/// <summary>
/// A collector's OTLP/HTTP trace endpoint on a free loopback port: <c>POST /v1/traces</c> with an
/// <c>ExportTraceServiceRequest</c> in protobuf, answered 200 with an empty response message (which is valid protobuf).
/// Set <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> to <see cref="Endpoint"/> and <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> to
/// <c>http/protobuf</c> and every span a process exports lands in <see cref="Spans"/>.
/// </summary>
public sealed class OtlpTraceReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private WebApplication? _app;

    private OtlpTraceReceiver()
    {
    }

    /// <summary>The value for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, e.g. <c>http://127.0.0.1:40125</c>.</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    /// <summary>Starts the receiver.</summary>
    public static async Task<OtlpTraceReceiver> StartAsync()
    {
        var receiver = new OtlpTraceReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            foreach (var span in OtlpProtobuf.ReadTraces(body.ToArray()))
            {
                receiver._spans.Enqueue(span);
            }

            context.Response.ContentType = "application/x-protobuf";
        });
        await app.StartAsync();
        receiver.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        receiver._app = app;
        return receiver;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>
/// Just enough of the protobuf wire format to read OTLP trace requests (opentelemetry/proto/trace/v1/trace.proto); no
/// OTLP message package is served to this project, and the fields needed are few.
/// </summary>
internal static class OtlpProtobuf
{
    private const int Varint = 0;
    private const int Fixed64 = 1;
    private const int Length = 2;
    private const int Fixed32 = 5;

    /// <summary>The spans of an <c>ExportTraceServiceRequest</c>.</summary>
    public static IEnumerable<ReceivedSpan> ReadTraces(byte[] request)
    {
        var spans = new List<ReceivedSpan>();

        // ExportTraceServiceRequest.resource_spans = 1
        foreach (var resourceSpans in Fields(request, 1))
        {
            var service = "";
            var scopes = new List<ReadOnlyMemory<byte>>();
            foreach (var (field, value) in All(resourceSpans))
            {
                if (field == 1)
                {
                    // Resource.attributes = 1
                    service = Attributes(value, 1).GetValueOrDefault("service.name", "");
                }
                else if (field == 2)
                {
                    scopes.Add(value);
                }
            }

            foreach (var scopeSpans in scopes)
            {
                var scope = "";
                foreach (var (field, value) in All(scopeSpans))
                {
                    if (field == 1)
                    {
                        // InstrumentationScope.name = 1
                        scope = Fields(value, 1).Select(Utf8).FirstOrDefault() ?? "";
                    }
                    else if (field == 2)
                    {
                        spans.Add(ReadSpan(service, scope, value));
                    }
                }
            }
        }

        return spans;
    }

    private static ReceivedSpan ReadSpan(string service, string scope, ReadOnlyMemory<byte> span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        foreach (var (field, value) in All(span))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(value.Span); break;
                case 2: spanId = Convert.ToHexStringLower(value.Span); break;
                case 4: parent = Convert.ToHexStringLower(value.Span); break;
                case 5: name = Utf8(value); break;
                case 6: kind = (int)ReadVarint(value.Span, out _); break;
            }
        }

        return new ReceivedSpan(service, scope, traceId, spanId, parent, name, kind, Attributes(span, 9));
    }

    // KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string_value = 1; bool_value = 2; int_value = 3 }
    private static Dictionary<string, string> Attributes(ReadOnlyMemory<byte> message, int field)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var keyValue in Fields(message, field))
        {
            var key = Fields(keyValue, 1).Select(Utf8).FirstOrDefault() ?? "";
            foreach (var anyValue in Fields(keyValue, 2))
            {
                foreach (var (kind, value) in All(anyValue))
                {
                    attributes[key] = kind switch
                    {
                        1 => Utf8(value),
                        2 or 3 => ReadVarint(value.Span, out _).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        _ => "",
                    };
                }
            }
        }

        return attributes;
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Fields(ReadOnlyMemory<byte> message, int wanted) =>
        All(message).Where(pair => pair.Field == wanted).Select(pair => pair.Value);

    // Every field of a message in order; a varint or fixed field's value is its raw bytes.
    private static List<(int Field, ReadOnlyMemory<byte> Value)> All(ReadOnlyMemory<byte> message)
    {
        var fields = new List<(int, ReadOnlyMemory<byte>)>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message.Span[position..], out var tagLength);
            position += tagLength;
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case Varint:
                    ReadVarint(message.Span[position..], out var varintLength);
                    fields.Add((field, message.Slice(position, varintLength)));
                    position += varintLength;
                    break;
                case Fixed64:
                    fields.Add((field, message.Slice(position, 8)));
                    position += 8;
                    break;
                case Length:
                    var length = (int)ReadVarint(message.Span[position..], out var lengthLength);
                    position += lengthLength;
                    fields.Add((field, message.Slice(position, length)));
                    position += length;
                    break;
                case Fixed32:
                    fields.Add((field, message.Slice(position, 4)));
                    position += 4;
                    break;
                default:
                    throw new FormatException($"unsupported protobuf wire type in field {field}");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, out int length)
    {
        ulong value = 0;
        for (length = 0; length < 10; length++)
        {
            var b = data[length];
            value |= (ulong)(b & 0x7F) << (7 * length);
            if ((b & 0x80) == 0)
            {
                length++;
                return value;
            }
        }

        throw new FormatException("a protobuf varint longer than 10 bytes");
    }

    private static string Utf8(ReadOnlyMemory<byte> value) => Encoding.UTF8.GetString(value.Span);
}
