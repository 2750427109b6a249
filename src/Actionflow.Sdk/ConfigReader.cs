using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Actionflow.Sdk;

/// <summary>
/// Reads a config object into its type as <c>JsonNode.Deserialize</c> does (the tree written out as JSON, then read),
/// through a writer and buffer kept per thread: every run reads its step's config, and the writer the serializer
/// makes for each call was most of what that allocated.
/// </summary>
internal static class ConfigReader
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    [ThreadStatic]
    private static JsonSerializerOptions? t_options;

    public static T? Read<T>(JsonObject config, JsonSerializerOptions options)
    {
        // Taken off the thread while in use, so a converter that reads a config of its own gets a writer of its own.
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(256);
        var writer = t_writer is { } cached && ReferenceEquals(t_options, options) ? cached : new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Encoder = options.Encoder,
            MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth,
            SkipValidation = true,
        });
        (t_buffer, t_writer) = (null, null);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        try
        {
            config.WriteTo(writer, options);
            writer.Flush();
            return JsonSerializer.Deserialize<T>(buffer.WrittenSpan, options);
        }
        finally
        {
            if (buffer.Capacity <= 64 * 1024)
            {
                // An unusually large config does not keep its buffer alive on this thread.
                (t_buffer, t_writer, t_options) = (buffer, writer, options);
            }
        }
    }
}
