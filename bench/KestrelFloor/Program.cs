using System.Globalization;
using IsoCluster.Gateway.Hosting;
using Microsoft.Net.Http.Headers;

// The floor under IsoCluster's rows in bench/slice-cache.sh (server `kestrel`): Kestrel with the gateway's serving
// transport answering each BMC's range read from the whole ISO held in memory, with nothing of IsoCluster on the path
// (no boot plan, no chunk cache, no kernel parameters laid over the bytes, no metrics). What one of its responses costs
// is what the framework costs; the gateway's rows are read against it, and nginx's against both.
//
//   dotnet IsoCluster.KestrelFloor.dll ISO_PATH URL     e.g. /tmp/hook.iso http://127.0.0.1:8090
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: IsoCluster.KestrelFloor ISO_PATH URL (serves GET and HEAD /iso/... from ISO_PATH, read into memory)");
    return 2;
}

byte[] iso;
try
{
    iso = File.ReadAllBytes(args[0]);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"IsoCluster.KestrelFloor: cannot read the ISO {args[0]}: {e.Message}");
    return 1;
}

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls(args[1]);
ServingTransport.AddTo(builder);
var app = builder.Build();

// The validators a real server sends with every response (nginx sends both); fixed, as the file is.
var etag = $"\"{iso.Length:x}-floor\"";
var lastModified = File.GetLastWriteTimeUtc(args[0]).ToString("R", CultureInfo.InvariantCulture);
// A 256 KiB read, the largest the benchmark's loads make, is one write.
const int WritePiece = 256 * 1024;

// A middleware, as the gateway's is: no routing on the path.
app.Run(async context =>
{
    var response = context.Response;
    if (!context.Request.Path.StartsWithSegments("/iso", StringComparison.Ordinal))
    {
        response.StatusCode = StatusCodes.Status404NotFound;
        return;
    }

    if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
    {
        response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        return;
    }

    response.ContentType = "application/x-iso9660-image";
    response.Headers.AcceptRanges = "bytes";
    response.Headers.ETag = etag;
    response.Headers.LastModified = lastModified;
    // ASP.NET Core's own Range parser: a few hundred bytes of garbage per request that the gateway's parser does not
    // make, well under a microsecond of the response's cost.
    long start = 0, end = iso.Length - 1;
    if (RangeHeaderValue.TryParse(context.Request.Headers.Range.ToString(), out var range) && range.Ranges.Count == 1)
    {
        var item = range.Ranges.First();
        if (item.From is { } from)
        {
            start = from;
            end = Math.Min(item.To ?? end, end);
        }
        else
        {
            start = Math.Max(0, iso.Length - item.To!.Value);
        }

        if (start > end || start >= iso.Length)
        {
            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            response.Headers.ContentRange = $"bytes */{iso.Length}";
            return;
        }

        response.StatusCode = StatusCodes.Status206PartialContent;
        response.Headers.ContentRange = $"bytes {start}-{end}/{iso.Length}";
    }

    var length = (int)(end - start + 1);
    response.ContentLength = length;
    if (HttpMethods.IsHead(context.Request.Method))
    {
        return;
    }

    // As the gateway does: headers into Kestrel's output first, so that the body is copied once, behind them; a long
    // body in pieces, each flushed before the next is copied, so that a whole-ISO read does not copy the whole ISO
    // into Kestrel's output at once.
    await response.StartAsync(context.RequestAborted);
    for (var offset = (int)start; offset <= end; offset += WritePiece)
    {
        await response.BodyWriter.WriteAsync(iso.AsMemory(offset, Math.Min(WritePiece, (int)end - offset + 1)), context.RequestAborted);
    }
});
await app.RunAsync();
return 0;
