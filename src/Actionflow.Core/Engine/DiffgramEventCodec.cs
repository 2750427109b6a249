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

    private static readonly string[] IdFields =
        ["input_id", "project_id", "directory_id", "action_id", "workflow_id", "file_id", "task_id", "job_id", "member_id"];

    /// <summary>
    /// Parses a message body into an unsaved <see cref="Event"/>. Unknown keys are kept in <see cref="Event.Payload"/>.
    /// Returns null with <paramref name="error"/> saying what is wrong when the body is not a valid event.
    /// </summary>
    public static Event? TryParse(ReadOnlySpan<byte> body, DateTime receivedAt, out string? error)
    {
        if (body.Length > MaxBodyBytes)
        {
            error = $"event body is {body.Length} bytes; the limit is {MaxBodyBytes}";
            return null;
        }

        JsonObject payload;
        try
        {
            if (JsonNode.Parse(body) is not JsonObject obj)
            {
                error = "event body must be a JSON object";
                return null;
            }

            payload = obj;
        }
        catch (JsonException ex)
        {
            error = $"event body is not valid JSON: {ex.Message}";
            return null;
        }

        return TryRead(payload, receivedAt, out error);
    }

    /// <summary>Validates an event object; see <see cref="TryParse"/>.</summary>
    public static Event? TryRead(JsonObject payload, DateTime receivedAt, out string? error)
    {
        if (payload["kind"] is not JsonValue kindValue || !kindValue.TryGetValue<string>(out var kind) || string.IsNullOrWhiteSpace(kind))
        {
            error = "field 'kind' is required and must be a non-empty string";
            return null;
        }

        if (kind.Length > 200)
        {
            error = "field 'kind' is longer than 200 characters";
            return null;
        }

        var ids = new Dictionary<string, long?>(StringComparer.Ordinal);
        foreach (var field in IdFields)
        {
            if (!TryReadId(payload[field], out var value))
            {
                error = $"field '{field}' must be a positive integer or null";
                return null;
            }

            ids[field] = value;
        }

        if (ids["project_id"] is not { } projectId)
        {
            error = "field 'project_id' is required";
            return null;
        }

        if (!TryReadId(payload["id"], out var sourceId))
        {
            error = "field 'id' must be a positive integer or null";
            return null;
        }

        JsonObject extra;
        switch (payload["extra_metadata"])
        {
            case null:
                extra = [];
                break;
            case JsonObject obj:
                extra = (JsonObject)obj.DeepClone();
                break;
            default:
                error = "field 'extra_metadata' must be a JSON object or null";
                return null;
        }

        error = null;
        return new Event
        {
            Kind = kind,
            ProjectId = projectId,
            WorkflowId = ids["workflow_id"],
            ActionId = ids["action_id"],
            FileId = ids["file_id"],
            TaskId = ids["task_id"],
            JobId = ids["job_id"],
            DirectoryId = ids["directory_id"],
            InputId = ids["input_id"],
            MemberId = ids["member_id"],
            Description = ReadString(payload["description"]),
            ErrorLog = ReadString(payload["error_log"]),
            ExtraMetadata = extra,
            Payload = payload,
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

    private static bool TryReadId(JsonNode? node, out long? value)
    {
        value = null;
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

    private static string? ReadString(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => node.ToJsonString(),
    };
}
