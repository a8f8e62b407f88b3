using System.Net;
using System.Net.Sockets;

namespace IsoCluster.FleetBoot;

/// <summary>
/// The <c>free-ports</c> command: loopback ports for servers that must be told their port (nginx, Kestrel, the
/// Orleans silo). All listeners are open at once, so the ports are distinct.
/// </summary>
internal static class FreePorts
{
    /// <summary>The names <c>free-ports</c> accepts.</summary>
    public static readonly string[] Arguments = ["count"];

    /// <summary>Prints <c>--count</c> ports, one per line.</summary>
    public static int Print(CommandArgs args)
    {
        var listeners = Enumerable.Range(0, args.Integer("count", 1, 1, 32))
            .Select(_ => new TcpListener(IPAddress.Loopback, 0))
            .ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            foreach (var listener in listeners)
            {
                Console.WriteLine(((IPEndPoint)listener.LocalEndpoint).Port);
            }
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }

        return 0;
    }
}
