using System.Net;
using System.Net.Sockets;

namespace IsoCluster.TestSupport;

/// <summary>Free loopback TCP ports for servers that cannot bind port 0 themselves (Orleans silos).</summary>
public static class FreePorts
{
    /// <summary>A port that was free a moment ago.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
