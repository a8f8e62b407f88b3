using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;

namespace IsoCluster.Grains.Hardware;

/// <summary>Computes <see cref="MachineRecord.Revision"/>.</summary>
internal static class MachineRevision
{
    public static string Compute(MachineRecord machine)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var nic = machine.Interface;
        Append(hash, machine.HardwareName);
        Append(hash, machine.Namespace);
        Append(hash, machine.Facility);
        Append(hash, nic.Mac.ToString());
        Append(hash, nic.VlanId);
        Append(hash, nic.IpAddress);
        Append(hash, nic.Netmask);
        Append(hash, nic.Gateway);
        Append(hash, nic.Hostname);
        Append(hash, nic.NameServers);
        Append(hash, nic.SearchDomains);
        Append(hash, nic.TimeServers);
        Append(hash, nic.SourceIso);

        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);

        // 64 bits is plenty to tell one machine's versions apart; the full digest would only bloat ETags and logs.
        return Convert.ToHexStringLower(digest[..8]);
    }

    private static void Append(IncrementalHash hash, ImmutableArray<string> values)
    {
        AppendLength(hash, values.Length);
        foreach (var value in values)
        {
            Append(hash, value);
        }
    }

    // Each value is length-prefixed (with -1 for null) so that no choice of field contents can make two different
    // machines hash the same input, e.g. ("ab", "") and ("a", "b").
    private static void Append(IncrementalHash hash, string? value)
    {
        if (value is null)
        {
            AppendLength(hash, -1);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        AppendLength(hash, bytes.Length);
        hash.AppendData(bytes);
    }

    private static void AppendLength(IncrementalHash hash, int length)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(buffer, length);
        hash.AppendData(buffer);
    }
}
