namespace IsoCluster.Grains.Hardware.Kubernetes;

/// <summary>Asks the server to close the connection of every watch once it ends, so it never serves another request.</summary>
/// <remarks>
/// KubernetesClient stops a watch by no longer waiting for its read, not by cancelling the read itself. Over
/// HTTP/1.1 a pooled connection reused after that was seen to hang the next list for good, reading a 500 response
/// whose body never came (against the loopback API server of the tests, about one run in ten). A watch lasts minutes,
/// so one connection per watch costs nothing; HTTP/2 (an API server over TLS) multiplexes and ignores the header.
/// </remarks>
internal sealed class WatchConnectionHandler : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.RequestUri?.Query.Contains("watch=true", StringComparison.Ordinal) == true)
        {
            request.Headers.ConnectionClose = true;
        }

        return base.SendAsync(request, cancellationToken);
    }
}
