using System.Buffers;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.GeneratedCodeHelpers;
using Orleans.Serialization.Serializers;
using Orleans.Serialization.WireProtocol;

namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// Writes a <see cref="ChunkReadResult"/> into a grain message and reads it back, moving the chunk bytes between pooled
/// buffers: the sender's lease is released once its bytes are in the message, and the receiver reads them into a
/// buffer rented from <see cref="ReceivedChunkBuffers"/>, whose lease the result carries.
/// </summary>
/// <remarks>
/// Hand-written because the generated codec reads the bytes into a fresh array: a megabyte on the large-object heap per
/// chunk a gateway receives, which only a full collection frees. The wire format is the one the generated codec wrote
/// for the record's fields (Status 0, Data 1, OccurrenceStarts 2, Reason 3), so silos and gateways of either build
/// understand each other.
/// </remarks>
[RegisterSerializer]
public sealed class ChunkReadResultCodec : IFieldCodec<ChunkReadResult>
{
    private static readonly Type CodecFieldType = typeof(ChunkReadResult);
    private static readonly Type StatusType = typeof(UpstreamStatus);
    private static readonly Type OccurrencesType = typeof(long[]);

    private readonly IFieldCodec<UpstreamStatus> _statusCodec;
    private readonly IFieldCodec<long[]> _occurrencesCodec;
    private readonly ReceivedChunkBuffers _buffers;

    /// <summary>Creates the codec; Orleans does, with its codecs and the process's <see cref="ReceivedChunkBuffers"/>.</summary>
    public ChunkReadResultCodec(ICodecProvider codecs, ReceivedChunkBuffers buffers)
    {
        ArgumentNullException.ThrowIfNull(codecs);
        _statusCodec = codecs.GetCodec<UpstreamStatus>();
        _occurrencesCodec = codecs.GetCodec<long[]>();
        _buffers = buffers;
    }

    /// <inheritdoc/>
    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, ChunkReadResult? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        // Writes a null, or a reference to a result already in this message, and says so.
        if (ReferenceCodec.TryWriteReferenceField(ref writer, fieldIdDelta, expectedType, value))
        {
            return;
        }

        ArgumentNullException.ThrowIfNull(value);

        writer.WriteStartObject(fieldIdDelta, expectedType, CodecFieldType);
        writer.WriteEndBase();
        _statusCodec.WriteField(ref writer, 0, StatusType, value.Status);
        ReadOnlyMemoryOfByteCodec.WriteField(ref writer, 1, value.Data);
        _occurrencesCodec.WriteField(ref writer, 1, OccurrencesType, value.OccurrenceStarts);
        StringCodec.WriteField(ref writer, 1, value.Reason);
        writer.WriteEndObject();

        // The bytes are in the message: the caller this reference was taken for is in another process.
        value.Lease?.Release();
    }

    /// <inheritdoc/>
    public ChunkReadResult ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.IsReference)
        {
            return ReferenceCodec.ReadReference<ChunkReadResult, TInput>(ref reader, field)!;
        }

        field.EnsureWireTypeTagDelimited();
        var placeholder = ReferenceCodec.CreateRecordPlaceholder(reader.Session);
        var status = default(UpstreamStatus);
        var data = ReadOnlyMemory<byte>.Empty;
        ChunkBuffer? lease = null;
        long[] occurrences = [];
        string? reason = null;
        try
        {
            // The generated codec's layout: an empty base section, then the fields, then the end of the object.
            Field header = default;
            reader.ReadFieldHeader(ref header);
            reader.ConsumeEndBaseOrEndObject(ref header);
            if (header.IsEndBaseFields)
            {
                uint id = 0;
                while (true)
                {
                    reader.ReadFieldHeader(ref header);
                    if (header.IsEndBaseOrEndObject)
                    {
                        break;
                    }

                    id += header.FieldIdDelta;
                    switch (id)
                    {
                        case 0:
                            status = _statusCodec.ReadValue(ref reader, header);
                            break;
                        case 1:
                            (data, lease) = ReadData(ref reader, header);
                            break;
                        case 2:
                            occurrences = _occurrencesCodec.ReadValue(ref reader, header) ?? [];
                            break;
                        case 3:
                            reason = StringCodec.ReadValue(ref reader, header);
                            break;
                        default:
                            reader.ConsumeUnknownField(header);
                            break;
                    }
                }
            }
        }
        catch
        {
            lease?.Release();
            throw;
        }

        var result = new ChunkReadResult(status, data, occurrences, reason) { Lease = lease };
        ReferenceCodec.RecordObject(reader.Session, result, placeholder);
        return result;
    }

    private (ReadOnlyMemory<byte> Data, ChunkBuffer? Lease) ReadData<TInput>(ref Reader<TInput> reader, Field field)
    {
        field.EnsureWireType(WireType.LengthPrefixed);
        var length = (int)reader.ReadVarUInt32();
        if (length == 0)
        {
            ReferenceCodec.MarkValueField(reader.Session);
            return (ReadOnlyMemory<byte>.Empty, null);
        }

        var buffer = _buffers.Rent(length);
        try
        {
            reader.ReadBytes(buffer.Array.AsSpan(0, length));
        }
        catch
        {
            buffer.Release();
            throw;
        }

        // Numbered as the generated codec numbered the array it made, so later references in the message still match.
        ReferenceCodec.MarkValueField(reader.Session);
        return (buffer.Array.AsMemory(0, length), buffer);
    }
}
