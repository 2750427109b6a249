using System.Diagnostics.CodeAnalysis;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Actionflow.Core.Json;

/// <summary>
/// How deep a stored JSON document may be nested where the API reads it back (event metadata, a step's JSON fields,
/// run outputs, dead-letter bodies). A response wraps such a document in at most 6 more levels, so every answer stays
/// well inside the 64 levels System.Text.Json writes by default.
/// </summary>
public static class JsonLimits
{
    /// <summary>Levels of nesting a stored document may have: <c>{}</c> is 1, <c>{"a": []}</c> is 2.</summary>
    public const int MaxDepth = 32;

    // Text of a subtree already too deep: whatever its depth, it is written out (nothing else reads it as a tree).
    private static readonly JsonSerializerOptions DeepText = new() { MaxDepth = 4096, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Levels of nesting of a node: 0 for a scalar or null, 1 for an empty object or array.</summary>
    public static int DepthOf(JsonNode? node) => node switch
    {
        JsonObject obj => 1 + obj.Select(p => DepthOf(p.Value)).DefaultIfEmpty(0).Max(),
        JsonArray array => 1 + array.Select(DepthOf).DefaultIfEmpty(0).Max(),
        _ => 0,
    };

    /// <summary>True when <paramref name="node"/> is nested at most <paramref name="maxDepth"/> levels (stops looking past it).</summary>
    public static bool IsWithin(JsonNode? node, int maxDepth = MaxDepth) => node switch
    {
        JsonObject obj => maxDepth >= 1 && obj.All(p => IsWithin(p.Value, maxDepth - 1)),
        JsonArray array => maxDepth >= 1 && array.All(v => IsWithin(v, maxDepth - 1)),
        _ => true,
    };

    /// <summary>
    /// The document as a response can carry it: itself when it is within <see cref="MaxDepth"/>; otherwise (a row saved
    /// before the limit existed, or written by hand) a copy whose containers at the deepest allowed level hold their
    /// too-deep children as JSON text, so nothing is lost and the rest keeps its shape.
    /// </summary>
    [return: NotNullIfNotNull(nameof(document))]
    public static JsonObject? Readable(JsonObject? document) =>
        document is null || IsWithin(document) ? document : (JsonObject)Cut(document, 1);

    /// <inheritdoc cref="Readable(JsonObject)"/>
    [return: NotNullIfNotNull(nameof(document))]
    public static JsonNode? Readable(JsonNode? document) =>
        document is null || IsWithin(document) ? document : Cut(document, 1);

    private static JsonNode Cut(JsonNode node, int level)
    {
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (name, child) in obj)
                {
                    copy[name] = Child(child, level);
                }

                return copy;
            case JsonArray array:
                var items = new JsonArray();
                foreach (var child in array)
                {
                    items.Add(Child(child, level));
                }

                return items;
            default:
                return node.DeepClone();
        }
    }

    private static JsonNode? Child(JsonNode? child, int parentLevel) => child switch
    {
        null => null,
        JsonObject or JsonArray when parentLevel >= MaxDepth => JsonValue.Create(child.ToJsonString(DeepText)),
        JsonObject or JsonArray => Cut(child, parentLevel + 1),
        _ => child.DeepClone(),
    };
}
