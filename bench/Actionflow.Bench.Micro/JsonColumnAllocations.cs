using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Engine;
using Actionflow.Core.Json;
using Actionflow.Storage.Conversions;
using BenchmarkDotNet.Attributes;

namespace Actionflow.Bench.Micro;

/// <summary>
/// Issue 17, round 9: the <c>jsonb</c> columns of a batch of accepted events (payload and extra_metadata), before (an
/// array per value, the code as it was, kept here as the baseline) and after (<see cref="JsonObjectConverter.ToPooledUtf8"/>:
/// slices of one pooled buffer, returned as the batch's parameters go back, into the parameter's kept list since round 10).
/// </summary>
[MemoryDiagnoser]
public class JsonColumnAllocations
{
    private static readonly JsonSerializerOptions WriteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly byte[] EmptyObjectUtf8 = "{}"u8.ToArray();

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private JsonObject[] _payloads = [];
    private JsonObject[] _empties = [];

    // The kept parameter's list, reused from batch to batch (round 10).
    private readonly List<ReadOnlyMemory<byte>?> _values = [];

    [Params(1, 8)]
    public int Events { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payloads = [.. Enumerable.Range(0, Events).Select(i =>
            DiffgramEventCodec.TryParse(System.Text.Encoding.UTF8.GetBytes(Samples.DiffgramEvent(123_456 + i, "input_file_uploaded", 42).ToJsonString()), DateTime.UtcNow, out _)!.Payload)];
        _empties = [.. Enumerable.Range(0, Events).Select(_ => JsonNodes.EmptyObject())];
    }

    [Benchmark(Baseline = true, Description = "payload + extra_metadata columns: before (an array per value)")]
    public int Before() => ArrayPerValue(_payloads).Length + ArrayPerValue(_empties).Length;

    [Benchmark(Description = "payload + extra_metadata columns: after (slices of one pooled buffer per column)")]
    public int After() => PooledSlices(_payloads) + PooledSlices(_empties);

    private int PooledSlices(JsonObject[] rows)
    {
        var pooled = JsonObjectConverter.ToPooledUtf8(rows, r => r, _values);
        var count = _values.Count;
        // As PooledArrayParameters does once the batch has been read: the buffer goes back, the parameter's list is emptied.
        ArrayPool<byte>.Shared.Return(pooled);
        _values.Clear();
        return count;
    }

    private static byte[][] ArrayPerValue(JsonObject[] rows)
    {
        var values = new byte[rows.Length][];
        for (var i = 0; i < rows.Length; i++)
        {
            values[i] = Utf8Of(rows[i]);
        }

        return values;
    }

    /// <summary>One value's text as its own array (an empty object as one shared array): the column value up to round 8.</summary>
    internal static byte[] Utf8Of(JsonObject value)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = WriteOptions.Encoder, MaxDepth = 64 });
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        value.WriteTo(writer, WriteOptions);
        writer.Flush();
        return buffer.WrittenSpan.SequenceEqual(EmptyObjectUtf8) ? EmptyObjectUtf8 : buffer.WrittenSpan.ToArray();
    }
}
