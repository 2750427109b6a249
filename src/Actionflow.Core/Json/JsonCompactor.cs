using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Actionflow.Core.Json;

/// <summary>
/// Rebuilds JSON trees that a long-lived cache keeps (every active step's definition, 100,000 of them in a large
/// installation) in a small form: fully built, so concurrent readers never build a node lazily; property names and
/// string values shared across the trees of one load; and no parsed document kept alive behind a value (a tree read
/// from the database holds its whole source text and a metadata table for as long as one of its values lives).
/// Whole column values may be shared too (<see cref="Intern"/>). One instance per load, read from one thread.
/// </summary>
public sealed class JsonCompactor
{
    /// <summary>Longer strings are rarely repeated (scripts, templates): not worth a lookup.</summary>
    private const int MaxSharedLength = 256;

    /// <summary>Longer trees are rarely repeated word for word (scripts, templates, long configs): not worth their text as a key.</summary>
    private const int MaxInternedLength = 1024;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    private readonly Dictionary<string, JsonObject> _trees = new(StringComparer.Ordinal);

    /// <summary>The one instance of <paramref name="value"/> in this load.</summary>
    [return: NotNullIfNotNull(nameof(value))]
    public string? Share(string? value)
    {
        if (value is null || value.Length == 0)
        {
            return value is null ? null : string.Empty;
        }

        if (value.Length > MaxSharedLength)
        {
            return value;
        }

        if (_strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        _strings[value] = value;
        return value;
    }

    /// <summary>A copy of <paramref name="source"/> with the same content, compacted.</summary>
    [return: NotNullIfNotNull(nameof(source))]
    public JsonObject? Compact(JsonObject? source)
    {
        if (source is null)
        {
            return null;
        }

        var target = new JsonObject();
        foreach (var (key, child) in source)
        {
            target[Share(key)] = CompactNode(child);
        }

        return target;
    }

    /// <summary>
    /// A compacted copy of a whole column's value, and the same instance for every equal value of this load: most steps'
    /// columns are empty or alike (100,000 workflows hold a handful of distinct trees, not 400,000), and each tree kept is
    /// about 200 bytes even when empty. Only for roots that nothing writes to or attaches under another node, which
    /// the index's steps already are (one instance is read by every concurrent run of its step).
    /// </summary>
    [return: NotNullIfNotNull(nameof(source))]
    public JsonObject? Intern(JsonObject? source)
    {
        if (source is null)
        {
            return null;
        }

        var text = source.ToJsonString();
        if (text.Length > MaxInternedLength)
        {
            return Compact(source);
        }

        if (!_trees.TryGetValue(text, out var shared))
        {
            _trees[text] = shared = Compact(source);
        }

        return shared;
    }

    private JsonNode? CompactNode(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                return Compact(obj);
            case JsonArray array:
                var copy = new JsonArray();
                foreach (var item in array)
                {
                    copy.Add(CompactNode(item));
                }

                return copy;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        return JsonValue.Create(Share(value.GetValue<string>()));
                    case JsonValueKind.True:
                        return JsonValue.Create(true);
                    case JsonValueKind.False:
                        return JsonValue.Create(false);
                    default:
                        // A number keeps a JSON backing, read exactly as written (GetValue<int> and GetValue<decimal> both
                        // work on it), but one of its own: cloning the element would keep the whole source document.
                        return JsonNode.Parse(value.ToJsonString());
                }

            default:
                return node.DeepClone();
        }
    }
}
