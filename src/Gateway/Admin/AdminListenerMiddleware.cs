using IsoCluster.Gateway.Serving;

namespace IsoCluster.Gateway.Admin;

/// <summary>Keeps ISO reads off the admin listener; its other half, admin endpoints off the BMC listener, is <see cref="AdminListenerPolicy"/>.</summary>
internal static class AdminListenerMiddleware
{
    private static readonly byte[] NotHere = "not found: ISO reads are served on --urls, not on the admin listener (--admin-urls)\n"u8.ToArray();

    /// <summary>Answers 404 to <c>/iso/...</c> on the admin listener; put it before the ISO endpoint.</summary>
    public static IApplicationBuilder UseAdminListener(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // The path first: health probes and admin requests then skip the connection's feature lookup.
        return app.Use((context, next) =>
            context.Request.Path.StartsWithSegments(IsoEndpoint.PathPrefix, StringComparison.Ordinal) && GatewayListeners.IsAdmin(context)
                ? NotFoundAsync(context)
                : next(context));
    }

    private static Task NotFoundAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status404NotFound;
        response.ContentType = "text/plain; charset=utf-8";
        response.ContentLength = NotHere.Length;
        return IsoEndpoint.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(NotHere, context.RequestAborted).AsTask();
    }
}
