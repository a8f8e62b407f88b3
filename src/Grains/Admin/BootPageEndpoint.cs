using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace IsoCluster.Grains.Admin;

/// <summary>
/// The live boot page at <c>/</c> and <c>/boots</c>: one self-contained HTML file (BootPage.html, embedded in this
/// assembly) whose script polls <c>/api/machines</c> and <c>/api/cache</c>. Nothing is loaded from anywhere else, so it
/// works on an operator network without internet access.
/// </summary>
internal static class BootPageEndpoint
{
    private const string ResourceName = "IsoCluster.Grains.Admin.BootPage.html";

    private static readonly Lazy<(byte[] Html, string ContentSecurityPolicy)> Page = new(Load);

    public static void MapBootPage(this RouteGroupBuilder admin)
    {
        admin.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], (RequestDelegate)WriteAsync);
        admin.MapMethods("/boots", [HttpMethods.Get, HttpMethods.Head], (RequestDelegate)WriteAsync);
    }

    private static Task WriteAsync(HttpContext context)
    {
        var (html, policy) = Page.Value;
        var response = context.Response;
        response.ContentType = "text/html; charset=utf-8";
        response.ContentLength = html.Length;
        response.Headers.CacheControl = "no-cache";
        response.Headers.ContentSecurityPolicy = policy;
        response.Headers.XContentTypeOptions = "nosniff";
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(html, context.RequestAborted).AsTask();
    }

    private static (byte[] Html, string ContentSecurityPolicy) Load()
    {
        using var stream = typeof(BootPageEndpoint).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The boot page ({ResourceName}) is not embedded in {typeof(BootPageEndpoint).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd();

        // The page's one inline script is allowed by its hash and nothing else runs: machine names and error texts that
        // reach the page from Hardware objects and upstreams can then never become script, whatever the page does with them.
        var scriptStart = text.IndexOf("<script>", StringComparison.Ordinal) + "<script>".Length;
        var scriptEnd = text.IndexOf("</script>", scriptStart, StringComparison.Ordinal);
        var scriptHash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text[scriptStart..scriptEnd])));
        var policy = $"default-src 'none'; script-src 'sha256-{scriptHash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        return (Encoding.UTF8.GetBytes(text), policy);
    }
}
