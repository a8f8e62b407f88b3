using Microsoft.AspNetCore.Connections;

namespace IsoCluster.Gateway.Hosting;

/// <summary>
/// How the gateway's Kestrel moves bytes: its socket transport and memory pool, tuned for many long-lived connections
/// each reading 64-256 KiB ranges. Shared with the benchmarks' bare-Kestrel peers, so that they measure the same
/// transport and the difference is the gateway's own work.
/// </summary>
internal static class ServingTransport
{
    private const long ResponseBufferSize = 320 * 1024;

    /// <summary>Configures the socket transport and Kestrel's memory pool of <paramref name="builder"/>.</summary>
    /// <remarks>
    /// Three measured settings (64 KiB range reads from cache, wrk with 64 and 256 connections):
    /// <list type="bullet">
    /// <item>Kestrel's socket transport holds at most 64 KiB of output before a flush waits, so every 64 KiB read (its
    /// headers on top) waited for the socket and left several task objects behind. Room for a 256 KiB read and its
    /// headers lets a flush return at once; a connection still holds only the one response its BMC is reading.</item>
    /// <item>Requests run on the socket's own I/O thread instead of hopping to the thread pool: about 10 % more requests
    /// per second. That is safe only for code that never blocks a thread, which the serving path does not: every wait
    /// in it (grain calls, upstream reads, flushes) is asynchronous.</item>
    /// <item>64 KiB memory blocks instead of 4 KiB ones (<see cref="LargeBlockMemoryPoolFactory"/>): 9-30 % less CPU
    /// per request.</item>
    /// </list>
    /// </remarks>
    public static void AddTo(WebApplicationBuilder builder)
    {
        builder.WebHost.UseSockets(sockets =>
        {
            sockets.MaxWriteBufferSize = ResponseBufferSize;
            sockets.UnsafePreferInlineScheduling = true;
        });
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
    }
}
