using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace IsoCluster.Grains.Upstream;

/// <summary>
/// What tells one version of a local file from another, read from an open handle: its length, its modification
/// time and, where the system reports it, its inode and whether it is a regular file.
/// </summary>
/// <param name="Length">The file's size in bytes.</param>
/// <param name="ModifiedSeconds">The modification time, in whole seconds since the Unix epoch.</param>
/// <param name="ModifiedNanoseconds">The sub-second part of the modification time, in nanoseconds.</param>
/// <param name="Inode">The inode number, or null where <c>statx</c> is unavailable.</param>
/// <param name="IsRegularFile">False only when the system says the handle is not a regular file.</param>
internal readonly record struct FileStamp(long Length, long ModifiedSeconds, uint ModifiedNanoseconds, ulong? Inode, bool IsRegularFile)
{
    /// <summary>
    /// A strong validator standing in for an HTTP ETag. The inode is in it so that a file replaced by rename with
    /// the same size and modification time (<c>cp -p</c>, <c>rsync -t</c>) is still a new version.
    /// </summary>
    public string ETag => Inode is { } inode
        ? string.Create(CultureInfo.InvariantCulture, $"\"{inode:x}-{Length:x}-{ModifiedSeconds:x}.{ModifiedNanoseconds:x}\"")
        : string.Create(CultureInfo.InvariantCulture, $"\"{Length:x}-{ModifiedSeconds:x}.{ModifiedNanoseconds:x}\"");

    /// <summary>The modification time at the whole-second precision of an HTTP <c>Last-Modified</c>; the ETag keeps the rest.</summary>
    public DateTimeOffset LastModified => DateTimeOffset.FromUnixTimeSeconds(ModifiedSeconds);

    /// <summary>Stats the open <paramref name="handle"/> itself, so the stamp is of exactly the file being read.</summary>
    /// <exception cref="IOException">The system could not stat the handle.</exception>
    public static FileStamp Of(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (Statx.TryStat(handle, out var stamp))
        {
            return stamp;
        }

        // Without statx there is no inode: length and modification time are the validators, as for an HTTP
        // upstream that sends only Last-Modified.
        var ticks = File.GetLastWriteTimeUtc(handle).Ticks - DateTime.UnixEpoch.Ticks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest);
        if (rest < 0)
        {
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }

        return new FileStamp(RandomAccess.GetLength(handle), seconds, (uint)(rest * 100), null, IsRegularFile: true);
    }

    /// <summary>
    /// glibc's <c>statx(2)</c> on the open descriptor (<c>AT_EMPTY_PATH</c>): .NET has no API for the inode. The
    /// <c>struct statx</c> layout is fixed by the kernel ABI and the same on every Linux architecture.
    /// </summary>
    private static class Statx
    {
        private const int AtEmptyPath = 0x1000;
        private const uint StatxType = 0x1;
        private const uint StatxMode = 0x2;
        private const uint StatxMtime = 0x40;
        private const uint StatxIno = 0x100;
        private const uint StatxSize = 0x200;
        private const uint Wanted = StatxType | StatxMode | StatxMtime | StatxIno | StatxSize;
        private const ushort FileTypeMask = 0xF000;
        private const ushort RegularFile = 0x8000;

        // ENOSYS: a kernel older than 4.11; EPERM: a container seccomp profile that predates statx.
        private const int ENOSYS = 38;
        private const int EPERM = 1;

        private static volatile bool _unavailable = !OperatingSystem.IsLinux();

        public static bool TryStat(SafeFileHandle handle, out FileStamp stamp)
        {
            stamp = default;
            if (_unavailable)
            {
                return false;
            }

            var added = false;
            StatxBuffer buffer;
            int result;
            int error;
            try
            {
                handle.DangerousAddRef(ref added);
                byte emptyPath = 0;
                result = NativeMethods.Statx((int)handle.DangerousGetHandle(), ref emptyPath, AtEmptyPath, Wanted, out buffer);
                error = Marshal.GetLastPInvokeError();
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // musl and glibc before 2.28 have no statx wrapper.
                _unavailable = true;
                return false;
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }

            if (result != 0)
            {
                if (error is ENOSYS or EPERM)
                {
                    _unavailable = true;
                    return false;
                }

                throw new IOException($"statx failed with errno {error}: {Marshal.GetPInvokeErrorMessage(error)}");
            }

            // A file system may leave out fields it cannot give; then fall back as if statx were missing.
            if ((buffer.Mask & (StatxMtime | StatxIno | StatxSize)) != (StatxMtime | StatxIno | StatxSize))
            {
                return false;
            }

            var isRegular = (buffer.Mask & StatxType) == 0 || (buffer.Mode & FileTypeMask) == RegularFile;
            stamp = new FileStamp((long)buffer.Size, buffer.MtimeSeconds, buffer.MtimeNanoseconds, buffer.Inode, isRegular);
            return true;
        }

        // The fields of struct statx that are read; the kernel writes all 256 bytes.
        [StructLayout(LayoutKind.Explicit, Size = 256)]
        private struct StatxBuffer
        {
            [FieldOffset(0)]
            public uint Mask;

            [FieldOffset(28)]
            public ushort Mode;

            [FieldOffset(32)]
            public ulong Inode;

            [FieldOffset(40)]
            public ulong Size;

            [FieldOffset(112)]
            public long MtimeSeconds;

            [FieldOffset(120)]
            public uint MtimeNanoseconds;
        }

        private static class NativeMethods
        {
            // The path is a pointer to one NUL byte: with AT_EMPTY_PATH, statx stats dirfd itself.
            [DllImport("libc", EntryPoint = "statx", SetLastError = true, ExactSpelling = true)]
            public static extern int Statx(int dirfd, ref byte pathname, int flags, uint mask, out StatxBuffer buffer);
        }
    }
}
