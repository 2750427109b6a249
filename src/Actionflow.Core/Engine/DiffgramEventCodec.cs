using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;

namespace Actionflow.Core.Engine;

/// <summary>
/// Reads events in Diffgram's message shape (<c>Event.serialize()</c>: kind, project_id, the id fields,
/// extra_metadata, ...) and writes recorded events back in that shape.
/// </summary>
public static class DiffgramEventCodec
{
    /// <summary>Largest event body accepted; bigger ones are dead-lettered.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    private static readonly (string Name, byte[] Utf8)[] IdFields =
        [.. ((string[])["input_id", "project_id", "directory_id", "action_id", "workflow_id", "file_id", "task_id", "job_id", "member_id"])
            .Select(name => (name, System.Text.Encoding.UTF8.GetBytes(name)))];

    /// <summary>
    /// Parses a message body into an unsaved <see cref="Event"/>. Unknown keys are kept in <see cref="Event.Payload"/>.
    /// Returns null with <paramref name="error"/> saying what is wrong when the body is not a valid event.
    /// </summary>
    /// <remarks>
    /// The fields are read from the parsed document itself; <see cref="Event.Payload"/> and
    /// <see cref="Event.ExtraMetadata"/> are node trees over it that build their nodes only when something indexes
    /// them (writing them out, or cloning them, reads the document as it is).
    /// </remarks>
    public static Event? TryParse(ReadOnlySpan<byte> body, DateTime receivedAt, out string? error)
    {
        if (body.Length > MaxBodyBytes)
        {
            error = $"event body is {body.Length} bytes; the limit is {MaxBodyBytes}";
            return null;
        }

        JsonElement root;
        try
        {
            root = JsonElement.Parse(body);
        }
        catch (JsonException ex)
        {
            error = $"event body is not valid JSON: {ex.Message}";
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "event body must be a JSON object";
            return null;
        }

        if (DuplicateKey(root) is { } duplicate)
        {
            // A node tree over a duplicated key throws when first indexed, wherever that happens: refuse it here instead.
            error = $"event body is not valid JSON: the key '{duplicate}' appears more than once";
            return null;
        }

        return Read(new ElementFields(root), receivedAt, out error);
    }

    /// <summary>Validates an event object; see <see cref="TryParse"/>.</summary>
    public static Event? TryRead(JsonObject payload, DateTime receivedAt, out string? error) =>
        Read(new NodeFields(payload), receivedAt, out error);

    /// <summary>The rules of a valid event, once for both representations of its body.</summary>
    private static Event? Read<TFields>(TFields fields, DateTime receivedAt, out string? error)
        where TFields : struct, IEventFields
    {
        if (!fields.TryGetString("kind", "kind"u8, out var kind) || string.IsNullOrWhiteSpace(kind))
        {
            error = "field 'kind' is required and must be a non-empty string";
            return null;
        }

        if (kind.Length > 200)
        {
            error = "field 'kind' is longer than 200 characters";
            return null;
        }

        Span<long?> ids = stackalloc long?[IdFields.Length];
        for (var i = 0; i < IdFields.Length; i++)
        {
            var (name, utf8) = IdFields[i];
            if (!fields.TryReadId(name, utf8, out ids[i]))
            {
                error = $"field '{name}' must be a positive integer or null";
                return null;
            }
        }

        if (ids[1] is not { } projectId)
        {
            error = "field 'project_id' is required";
            return null;
        }

        if (!fields.TryReadId("id", "id"u8, out var sourceId))
        {
            error = "field 'id' must be a positive integer or null";
            return null;
        }

        if (!fields.TryReadExtra(out var extra))
        {
            error = "field 'extra_metadata' must be a JSON object or null";
            return null;
        }

        error = null;
        return new Event
        {
            Kind = kind,
            ProjectId = projectId,
            InputId = ids[0],
            DirectoryId = ids[2],
            ActionId = ids[3],
            WorkflowId = ids[4],
            FileId = ids[5],
            TaskId = ids[6],
            JobId = ids[7],
            MemberId = ids[8],
            Description = fields.ReadString("description", "description"u8),
            ErrorLog = fields.ReadString("error_log", "error_log"u8),
            ExtraMetadata = extra,
            Payload = fields.Payload,
            DedupKey = sourceId is { } sid ? "source:" + sid.ToString(CultureInfo.InvariantCulture) : null,
            Source = "amqp",
            TimeCreated = receivedAt,
        };
    }

    /// <summary>
    /// The event in Diffgram's message shape: the keys it came with, the Diffgram keys filled from the record,
    /// <c>id</c> set to Actionflow's event id (a sender's own id is kept as <c>source_event_id</c>).
    /// </summary>
    public static JsonObject ToDiffgramJson(Event ev)
    {
        var json = (JsonObject)ev.Payload.DeepClone();
        if (json["id"] is { } sourceId && ev.Source == "amqp")
        {
            json["source_event_id"] = sourceId.DeepClone();
        }

        json["id"] = ev.Id;
        json["kind"] = ev.Kind;
        json["project_id"] = ev.ProjectId;
        json["workflow_id"] = ev.WorkflowId;
        json["action_id"] = ev.ActionId;
        json["file_id"] = ev.FileId;
        json["task_id"] = ev.TaskId;
        json["job_id"] = ev.JobId;
        json["directory_id"] = ev.DirectoryId;
        json["input_id"] = ev.InputId;
        json["member_id"] = ev.MemberId;
        json["description"] ??= ev.Description;
        json["error_log"] ??= ev.ErrorLog;
        foreach (var key in (string[])["object_type", "page_name", "report_template_data", "report_data", "install_fingerprint", "diffgram_version", "host_os", "storage_backend", "service_name"])
        {
            if (!json.ContainsKey(key))
            {
                json[key] = null;
            }
        }

        json["extra_metadata"] = ev.ExtraMetadata.DeepClone();
        json["time_created"] = ev.TimeCreated.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        if (ev.WorkflowRunId is { } runId)
        {
            json["workflow_run_id"] = runId;
        }

        return json;
    }

    /// <summary>
    /// A top-level key that appears twice (compared as written), or null. Checked here rather than by the parser's
    /// <c>AllowDuplicateProperties = false</c>, which checks every level with a set per parse.
    /// </summary>
    private static string? DuplicateKey(JsonElement root)
    {
        var count = root.GetPropertyCount();
        if (count < 2)
        {
            return null;
        }

        var i = 0;
        foreach (var property in root.EnumerateObject())
        {
            var name = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(property);
            var j = 0;
            foreach (var earlier in root.EnumerateObject())
            {
                if (j++ == i)
                {
                    break;
                }

                if (name.SequenceEqual(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(earlier)))
                {
                    return property.Name;
                }
            }

            i++;
        }

        return null;
    }

    /// <summary>How <see cref="Read"/> sees an event's top-level fields, whatever holds them.</summary>
    private interface IEventFields
    {
        JsonObject Payload { get; }

        /// <summary>False unless the field is there and a JSON string.</summary>
        bool TryGetString(string name, ReadOnlySpan<byte> utf8Name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value);

        /// <summary>A positive integer (or a string of one), or null when absent or JSON null; false for anything else.</summary>
        bool TryReadId(string name, ReadOnlySpan<byte> utf8Name, out long? value);

        /// <summary>A string as it is, anything else but null as its JSON text.</summary>
        string? ReadString(string name, ReadOnlySpan<byte> utf8Name);

        /// <summary><c>extra_metadata</c> as a tree of its own (empty when absent or null); false when it is not an object.</summary>
        bool TryReadExtra(out JsonObject extra);
    }

    /// <summary>A parsed body: the fields are read from the document, and no node is built for them.</summary>
    private readonly struct ElementFields(JsonElement root) : IEventFields
    {
        public JsonObject Payload => JsonObject.Create(root)!;

        public bool TryGetString(string name, ReadOnlySpan<byte> utf8Name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
        {
            value = root.TryGetProperty(utf8Name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            return value is not null;
        }

        public bool TryReadId(string name, ReadOnlySpan<byte> utf8Name, out long? value)
        {
            value = null;
            if (!root.TryGetProperty(utf8Name, out var e))
            {
                return true;
            }

            switch (e.ValueKind)
            {
                case JsonValueKind.Null:
                    return true;
                case JsonValueKind.Number when e.TryGetInt64(out var n) && n > 0:
                    value = n;
                    return true;
                case JsonValueKind.String when long.TryParse(e.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0:
                    value = s;
                    return true;
                default:
                    return false;
            }
        }

        public string? ReadString(string name, ReadOnlySpan<byte> utf8Name) =>
            !root.TryGetProperty(utf8Name, out var e) ? null : e.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => e.GetString(),
                _ => JsonSerializer.Serialize(e, JsonElementContext.Default.JsonElement),
            };

        public bool TryReadExtra(out JsonObject extra)
        {
            if (!root.TryGetProperty("extra_metadata"u8, out var e) || e.ValueKind == JsonValueKind.Null)
            {
                extra = JsonNodes.EmptyObject();
                return true;
            }

            // A tree of its own over the same document: independent of Payload, as a deep clone would be.
            extra = e.ValueKind == JsonValueKind.Object ? JsonObject.Create(e)! : null!;
            return extra is not null;
        }
    }

    /// <summary>An object built in code or by the API's model binding.</summary>
    private readonly struct NodeFields(JsonObject payload) : IEventFields
    {
        public JsonObject Payload => payload;

        public bool TryGetString(string name, ReadOnlySpan<byte> utf8Name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
        {
            value = null;
            return payload[name] is JsonValue v && v.TryGetValue(out value);
        }

        public bool TryReadId(string name, ReadOnlySpan<byte> utf8Name, out long? value)
        {
            value = null;
            var node = payload[name];
            if (node is null)
            {
                return true;
            }

            if (node is not JsonValue v)
            {
                return false;
            }

            switch (v.GetValueKind())
            {
                case JsonValueKind.Null:
                    return true;
                case JsonValueKind.Number when JsonNodes.TryGetInt64(v, out var n) && n > 0:
                    value = n;
                    return true;
                case JsonValueKind.String when long.TryParse(v.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0:
                    value = s;
                    return true;
                default:
                    return false;
            }
        }

        public string? ReadString(string name, ReadOnlySpan<byte> utf8Name) => payload[name] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            var node => node.ToJsonString(),
        };

        public bool TryReadExtra(out JsonObject extra)
        {
            switch (payload["extra_metadata"])
            {
                case null:
                    extra = [];
                    return true;
                case JsonObject obj:
                    extra = (JsonObject)obj.DeepClone();
                    return true;
                default:
                    extra = null!;
                    return false;
            }
        }
    }
}

/// <summary>Serializes a <see cref="JsonElement"/> without reflection (a non-string field kept as its JSON text).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(JsonElement))]
internal sealed partial class JsonElementContext : System.Text.Json.Serialization.JsonSerializerContext;
