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
    /// One pass of a reader over the body validates it and finds the fields; no document is built. The event keeps a
    /// copy of the body as its payload, which a writer stores as it is; the payload's tree is built only if something
    /// reads it (a filter, a window key, a runner that looks at the message).
    /// </remarks>
    public static Event? TryParse(ReadOnlySpan<byte> body, DateTime receivedAt, out string? error)
    {
        if (body.Length > MaxBodyBytes)
        {
            error = $"event body is {body.Length} bytes; the limit is {MaxBodyBytes}";
            return null;
        }

        // The reader checks the JSON but not every byte of a string: a body that is not UTF-8 is refused here, before
        // it is stored as it came.
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            error = "event body is not valid JSON: it is not valid UTF-8";
            return null;
        }

        var fields = new BodyFields();
        return fields.TryScan(body, out error) ? Read(fields, receivedAt, out error) : null;
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

        if (!fields.ExtraMetadataIsObject)
        {
            error = "field 'extra_metadata' must be a JSON object or null";
            return null;
        }

        error = null;
        var ev = fields.Create(kind);
        ev.ProjectId = projectId;
        ev.InputId = ids[0];
        ev.DirectoryId = ids[2];
        ev.ActionId = ids[3];
        ev.WorkflowId = ids[4];
        ev.FileId = ids[5];
        ev.TaskId = ids[6];
        ev.JobId = ids[7];
        ev.MemberId = ids[8];
        ev.Description = fields.ReadString("description", "description"u8);
        ev.ErrorLog = fields.ReadString("error_log", "error_log"u8);
        ev.DedupKey = sourceId is { } sid ? "source:" + sid.ToString(CultureInfo.InvariantCulture) : null;
        ev.Source = "amqp";
        ev.TimeCreated = receivedAt;
        return ev;
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

    /// <summary>How <see cref="Read"/> sees an event's top-level fields, whatever holds them.</summary>
    private interface IEventFields
    {
        /// <summary>False when <c>extra_metadata</c> is there and neither an object nor null.</summary>
        bool ExtraMetadataIsObject { get; }

        /// <summary>
        /// The event with its payload and <c>extra_metadata</c> (a tree of its own, empty when absent or null), the rest
        /// for <see cref="Read"/> to fill in.
        /// </summary>
        Event Create(string kind);

        /// <summary>False unless the field is there and a JSON string.</summary>
        bool TryGetString(string name, ReadOnlySpan<byte> utf8Name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value);

        /// <summary>A positive integer (or a string of one), or null when absent or JSON null; false for anything else.</summary>
        bool TryReadId(string name, ReadOnlySpan<byte> utf8Name, out long? value);

        /// <summary>A string as it is, anything else but null as its JSON text.</summary>
        string? ReadString(string name, ReadOnlySpan<byte> utf8Name);
    }

    /// <summary>
    /// A body as received: where the fields Diffgram's events carry are in it (found by <see cref="TryScan"/>), read
    /// from those places when asked for, and the body itself as the payload.
    /// </summary>
    private struct BodyFields : IEventFields
    {
        /// <summary>The fields <see cref="Read"/> asks for; <see cref="Slots"/> has one place per name.</summary>
        private static readonly byte[][] Known =
        [
            .. ((string[])["kind", "id", "description", "error_log", "extra_metadata"]).Select(System.Text.Encoding.UTF8.GetBytes),
            .. IdFields.Select(f => f.Utf8),
        ];

        private byte[] _body;
        private Slots _slots;

        /// <summary>
        /// Reads the whole body once: it must be one JSON object whose top-level keys appear once each (compared as
        /// written). Notes where the known fields' values are, and keeps a copy of the body.
        /// </summary>
        public bool TryScan(ReadOnlySpan<byte> body, out string? error)
        {
            // Where each top-level key is, to find one written twice: on the stack for any event Diffgram sends.
            Span<(int Start, int Length)> names = stackalloc (int, int)[32];
            (int Start, int Length)[]? rented = null;
            var count = 0;
            string? duplicate = null;
            var reader = new Utf8JsonReader(body);
            try
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    // Anything after the root value is still invalid JSON, and said so first.
                    while (reader.Read())
                    {
                    }

                    error = "event body must be a JSON object";
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = ((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
                    if (duplicate is null && WrittenBefore(body, names[..count], name))
                    {
                        duplicate = reader.GetString();
                    }

                    if (count == names.Length)
                    {
                        var bigger = System.Buffers.ArrayPool<(int, int)>.Shared.Rent(count * 2);
                        names.CopyTo(bigger);
                        if (rented is not null)
                        {
                            System.Buffers.ArrayPool<(int, int)>.Shared.Return(rented);
                        }

                        rented = bigger;
                        names = bigger;
                    }

                    names[count++] = name;
                    var known = KnownIndex(ref reader);
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    var type = reader.TokenType;
                    reader.Skip();
                    if (known >= 0)
                    {
                        _slots[known] = new Slot(type, start, (int)reader.BytesConsumed - start);
                    }
                }

                // Past the root object's end: only whitespace may follow.
                while (reader.Read())
                {
                }
            }
            catch (JsonException ex)
            {
                error = $"event body is not valid JSON: {ex.Message}";
                return false;
            }
            finally
            {
                if (rented is not null)
                {
                    System.Buffers.ArrayPool<(int, int)>.Shared.Return(rented);
                }
            }

            if (duplicate is not null)
            {
                // A node tree over a duplicated key throws when first indexed, wherever that happens: refuse it here instead.
                error = $"event body is not valid JSON: the key '{duplicate}' appears more than once";
                return false;
            }

            error = null;
            _body = body.ToArray();
            return true;
        }

        public readonly bool ExtraMetadataIsObject => SlotOf("extra_metadata"u8).Type is JsonTokenType.None or JsonTokenType.Null or JsonTokenType.StartObject;

        /// <summary>The event over the body: its payload is the body, its <c>extra_metadata</c> that value's bytes in it.</summary>
        public readonly Event Create(string kind)
        {
            var extra = SlotOf("extra_metadata"u8);
            return new(kind, extra.Type == JsonTokenType.StartObject ? _body.AsMemory(extra.Start, extra.Length) : JsonNodes.EmptyObjectUtf8, _body);
        }

        public readonly bool TryGetString(string name, ReadOnlySpan<byte> utf8Name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
        {
            var slot = SlotOf(utf8Name);
            value = slot.Type == JsonTokenType.String ? Value(slot).GetString() : null;
            return value is not null;
        }

        public readonly bool TryReadId(string name, ReadOnlySpan<byte> utf8Name, out long? value)
        {
            value = null;
            var slot = SlotOf(utf8Name);
            switch (slot.Type)
            {
                case JsonTokenType.None:
                case JsonTokenType.Null:
                    return true;
                case JsonTokenType.Number when Value(slot).TryGetInt64(out var n) && n > 0:
                    value = n;
                    return true;
                case JsonTokenType.String when long.TryParse(Value(slot).GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0:
                    value = s;
                    return true;
                default:
                    return false;
            }
        }

        public readonly string? ReadString(string name, ReadOnlySpan<byte> utf8Name)
        {
            var slot = SlotOf(utf8Name);
            return slot.Type switch
            {
                JsonTokenType.None or JsonTokenType.Null => null,
                JsonTokenType.String => Value(slot).GetString(),
                // As compact JSON text, whatever spacing the sender used.
                _ => JsonSerializer.Serialize(JsonElement.Parse(Utf8(slot)), JsonElementContext.Default.JsonElement),
            };
        }

        /// <summary>True when the key at <paramref name="name"/> is, byte for byte, one of <paramref name="earlier"/>.</summary>
        private static bool WrittenBefore(ReadOnlySpan<byte> body, ReadOnlySpan<(int Start, int Length)> earlier, (int Start, int Length) name)
        {
            var text = body.Slice(name.Start, name.Length);
            foreach (var (start, length) in earlier)
            {
                if (length == text.Length && body.Slice(start, length).SequenceEqual(text))
                {
                    return true;
                }
            }

            return false;
        }

        private static int KnownIndex(ref Utf8JsonReader reader)
        {
            for (var i = 0; i < Known.Length; i++)
            {
                if (reader.ValueTextEquals(Known[i]))
                {
                    return i;
                }
            }

            return -1;
        }

        private readonly Slot SlotOf(ReadOnlySpan<byte> utf8Name)
        {
            for (var i = 0; i < Known.Length; i++)
            {
                if (utf8Name.SequenceEqual(Known[i]))
                {
                    return _slots[i];
                }
            }

            throw new ArgumentOutOfRangeException(nameof(utf8Name), System.Text.Encoding.UTF8.GetString(utf8Name), "not a field the scan looks for");
        }

        private readonly ReadOnlySpan<byte> Utf8(Slot slot) => _body.AsSpan(slot.Start, slot.Length);

        /// <summary>A reader on the value alone, at its token.</summary>
        private readonly Utf8JsonReader Value(Slot slot)
        {
            var reader = new Utf8JsonReader(Utf8(slot));
            reader.Read();
            return reader;
        }

        /// <summary>Where a known field's value is in the body; <see cref="JsonTokenType.None"/> when the body has no such key.</summary>
        private readonly record struct Slot(JsonTokenType Type, int Start, int Length);

        // Known's length: five named fields and IdFields' nine.
        [System.Runtime.CompilerServices.InlineArray(14)]
        private struct Slots
        {
            private Slot _first;
        }
    }

    /// <summary>An object built in code or by the API's model binding.</summary>
    private readonly struct NodeFields(JsonObject payload) : IEventFields
    {
        public bool ExtraMetadataIsObject => payload["extra_metadata"] is null or JsonObject;

        public Event Create(string kind) => new()
        {
            Kind = kind,
            ExtraMetadata = payload["extra_metadata"] is JsonObject extra ? (JsonObject)extra.DeepClone() : [],
            Payload = payload,
        };

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
    }
}

/// <summary>Serializes a <see cref="JsonElement"/> without reflection (a non-string field kept as its JSON text).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(JsonElement))]
internal sealed partial class JsonElementContext : System.Text.Json.Serialization.JsonSerializerContext;
