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

    public static string ToJson(JsonObject value) => value.ToJsonString(WriteOptions);

    public static JsonObject FromJson(string value) => JsonNode.Parse(value)?.AsObject() ?? [];
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
