using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Actionflow.Core.Json;

public static class JsonNodes
{
    private static readonly JsonElement EmptyObjectElement = JsonElement.Parse("{}"u8);

    /// <summary>
    /// A new, empty object. Unlike <c>new JsonObject()</c> it is written, counted and cloned without building its
    /// dictionary (it reads a shared, immutable <c>{}</c>) until something is added to it, which then builds its own.
    /// </summary>
    public static JsonObject EmptyObject() => JsonObject.Create(EmptyObjectElement)!;

    /// <summary>The text <c>{}</c> as UTF-8: the bytes of an empty object an <see cref="Domain.Event"/> holds until it is read.</summary>
    public static readonly ReadOnlyMemory<byte> EmptyObjectUtf8 = "{}"u8.ToArray();

    /// <summary>
    /// Reads an integral JSON number whatever backs the node (parsed JSON or a CLR value such as int), so data built
    /// in code and data read from the database behave the same.
    /// </summary>
    public static bool TryGetInt64(JsonNode? node, out long value)
    {
        value = 0;
        return node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            && long.TryParse(v.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A positive integer id, or null.</summary>
    public static long? PositiveId(JsonNode? node) => TryGetInt64(node, out var id) && id > 0 ? id : null;

    /// <summary>
    /// Builds the whole tree of a node read from JSON now. System.Text.Json creates child nodes lazily on first access,
    /// which is not safe from several threads; a tree shared by concurrent readers is materialized once beforehand.
    /// </summary>
    public static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    Materialize(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Materialize(child);
                }

                break;
        }
    }
}
