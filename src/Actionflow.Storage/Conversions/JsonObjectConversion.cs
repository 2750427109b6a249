using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Actionflow.Storage.Conversions;

/// <summary>A <see cref="JsonObject"/> column stored as JSON text (<c>jsonb</c> on PostgreSQL, TEXT on SQLite).</summary>
public sealed class JsonObjectConverter() : ValueConverter<JsonObject, string>(v => ToJson(v), v => FromJson(v))
{
    private static readonly JsonSerializerOptions WriteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The serializer's default depth limit, which <c>ToJsonString</c> applied.</summary>
    private const int MaxDepth = 64;

    /// <summary>
    /// One writer per thread, over a buffer rented from the array pool for each call and returned by it (or by whoever
    /// it hands the buffer to): what is written is written synchronously, and a large value keeps nothing alive here.
    /// </summary>
    [ThreadStatic]
    private static PooledBufferWriter? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static string ToJson(JsonObject value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (buffer, writer) = Writer(1024);
        try
        {
            Write(writer, buffer, value);
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        finally
        {
            buffer.Return();
        }
    }

    /// <summary>
    /// The JSON text of each row's value (null stays null), added to <paramref name="values"/> as UTF-8 slices of one
    /// buffer rented from <see cref="ArrayPool{T}.Shared"/>, for a <c>jsonb[]</c> parameter: no array per value. Returns
    /// that buffer: the caller owns it and returns it to the pool once nothing reads the slices any more.
    /// </summary>
    /// <param name="asWritten">When given and true for a row, its value is these UTF-8 bytes, copied as they are (JSON
    /// text already validated, such as a message body kept by its event), and <paramref name="value"/> is not asked.</param>
    public static byte[] ToPooledUtf8<TRow>(
        IReadOnlyList<TRow> rows, Func<TRow, JsonObject?> value, List<ReadOnlyMemory<byte>?> values, AsWritten<TRow>? asWritten = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(values);
        var (buffer, writer) = Writer(rows.Count * 256);
        var ends = ArrayPool<int>.Shared.Rent(rows.Count);
        try
        {
            for (var i = 0; i < rows.Count; i++)
            {
                if (asWritten is not null && asWritten(rows[i], out var utf8))
                {
                    buffer.Append(utf8.Span);
                    ends[i] = buffer.Written;
                }
                else if (value(rows[i]) is { } json)
                {
                    Write(writer, buffer, json);
                    ends[i] = buffer.Written;
                }
                else
                {
                    ends[i] = -1;
                }
            }

            // Sliced only now: the buffer may have been replaced by a bigger one while the rows were written.
            var pooled = buffer.Finish();
            values.EnsureCapacity(values.Count + rows.Count);
            var start = 0;
            for (var i = 0; i < rows.Count; i++)
            {
                if (ends[i] >= 0)
                {
                    values.Add(new ReadOnlyMemory<byte>(pooled, start, ends[i] - start));
                    start = ends[i];
                }
                else
                {
                    values.Add(null);
                }
            }

            return pooled;
        }
        catch
        {
            // A value that cannot be written (too deep): the half-written buffer goes back (the writer is reset on next use).
            buffer.Return();
            throw;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ends);
        }
    }

    private static (PooledBufferWriter Buffer, Utf8JsonWriter Writer) Writer(int sizeHint)
    {
        var buffer = t_buffer ??= new PooledBufferWriter();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = WriteOptions.Encoder, MaxDepth = MaxDepth });
        buffer.Start(sizeHint);
        return (buffer, writer);
    }

    /// <summary>Appends <paramref name="value"/>'s text to <paramref name="buffer"/>.</summary>
    private static void Write(Utf8JsonWriter writer, PooledBufferWriter buffer, JsonObject value)
    {
        writer.Reset(buffer);
        value.WriteTo(writer, WriteOptions);
        writer.Flush();
    }

    /// <summary>An output buffer rented from the array pool, grown by renting a bigger one; one per thread, handed out by <see cref="Finish"/>.</summary>
    private sealed class PooledBufferWriter : IBufferWriter<byte>
    {
        private byte[] _array = [];

        public int Written { get; private set; }

        public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, Written);

        public void Start(int sizeHint)
        {
            _array = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, 256));
            Written = 0;
        }

        /// <summary>The buffer, now the caller's; this writer holds none until the next <see cref="Start"/>.</summary>
        public byte[] Finish()
        {
            var array = _array;
            _array = [];
            return array;
        }

        /// <summary>Gives the buffer back to the pool instead of handing it out.</summary>
        public void Return()
        {
            if (Finish() is { Length: > 0 } array)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }

        public void Advance(int count) => Written += count;

        public void Append(ReadOnlySpan<byte> utf8)
        {
            utf8.CopyTo(GetSpan(utf8.Length));
            Written += utf8.Length;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _array.AsMemory(Written);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _array.AsSpan(Written);
        }

        private void Ensure(int sizeHint)
        {
            sizeHint = Math.Max(sizeHint, 1);
            if (_array.Length - Written >= sizeHint)
            {
                return;
            }

            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_array.Length * 2, Written + sizeHint));
            _array.AsSpan(0, Written).CopyTo(bigger);
            if (_array.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_array);
            }

            _array = bigger;
        }
    }

    /// <summary>
    /// A JSON column of <paramref name="row"/> as text: the UTF-8 it already has (<paramref name="asWritten"/>), else
    /// its tree written out.
    /// </summary>
    public static string ToJson<TRow>(TRow row, AsWritten<TRow> asWritten, Func<TRow, JsonObject> tree)
    {
        ArgumentNullException.ThrowIfNull(asWritten);
        ArgumentNullException.ThrowIfNull(tree);
        return asWritten(row, out var utf8) ? Encoding.UTF8.GetString(utf8.Span) : ToJson(tree(row));
    }

    /// <summary>
    /// Most JSON columns of a step are empty; an empty object built directly holds no parsed document (source text and
    /// metadata table) for as long as it lives.
    /// </summary>
    public static JsonObject FromJson(string value) =>
        value is "{}" ? [] : JsonNode.Parse(value)?.AsObject() ?? [];
}

/// <summary>A row's value as UTF-8 JSON text it already has, if it has one.</summary>
public delegate bool AsWritten<in TRow>(TRow row, out ReadOnlyMemory<byte> utf8);

/// <summary>An event's JSON columns as the bytes it was received as, while nothing has read their trees.</summary>
public static class EventJson
{
    public static readonly AsWritten<Core.Domain.Event> Payload = static (Core.Domain.Event e, out ReadOnlyMemory<byte> utf8) => e.TryGetPayloadUtf8(out utf8);

    public static readonly AsWritten<Core.Domain.Event> ExtraMetadata = static (Core.Domain.Event e, out ReadOnlyMemory<byte> utf8) => e.TryGetExtraMetadataUtf8(out utf8);
}

/// <summary>Compares JSON objects by content and snapshots them by deep clone, so in-place edits are detected.</summary>
public sealed class JsonObjectComparer() : ValueComparer<JsonObject>(
    (a, b) => AreEqual(a, b),
    v => HashOf(v),
    v => CloneOf(v))
{
    public static bool AreEqual(JsonObject? a, JsonObject? b) =>
        a is null ? b is null : b is not null && string.Equals(a.ToJsonString(), b.ToJsonString(), StringComparison.Ordinal);

    public static int HashOf(JsonObject? value) => value is null ? 0 : value.ToJsonString().GetHashCode(StringComparison.Ordinal);

    public static JsonObject CloneOf(JsonObject value) => value.DeepClone().AsObject();
}
