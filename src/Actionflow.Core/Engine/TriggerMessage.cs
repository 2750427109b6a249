using System.Text.Json;
using System.Text.Json.Serialization;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;

namespace Actionflow.Core.Engine;

/// <summary>The body of an <c>actions.triggers</c> message: run this action for this event.</summary>
public sealed record TriggerMessage(
    [property: JsonPropertyName("event_id")] long EventId,
    [property: JsonPropertyName("action_id")] long ActionId,
    [property: JsonPropertyName("project_id")] long ProjectId,
    [property: JsonPropertyName("run_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? RunId = null)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, TriggerMessageJsonContext.Default.TriggerMessage);

    /// <summary>Reads a trigger body; null when it is not one (missing or non-positive ids, not JSON).</summary>
    public static TriggerMessage? TryParse(ReadOnlySpan<byte> body, out string? error)
    {
        try
        {
            var message = JsonSerializer.Deserialize(body, TriggerMessageJsonContext.Default.TriggerMessage);
            if (message is null || message.EventId <= 0 || message.ActionId <= 0 || message.ProjectId <= 0 || message.RunId <= 0)
            {
                error = "a trigger message needs positive integer event_id, action_id and project_id (and run_id, when present)";
                return null;
            }

            error = null;
            return message;
        }
        catch (JsonException ex)
        {
            error = $"not a trigger message: {ex.Message}";
            return null;
        }
    }

    /// <summary>The outbox row that sends this trigger; hidden until <paramref name="availableAt"/> when one is given.</summary>
    public OutboxMessage ToOutbox(DateTime now, DateTime? availableAt = null) => new()
    {
        Queue = QueueNames.ActionTriggers,
        Body = ToBytes(),
        Headers = null,
        TimeCreated = now,
        AvailableAt = availableAt,
    };
}

[JsonSerializable(typeof(TriggerMessage))]
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
internal sealed partial class TriggerMessageJsonContext : JsonSerializerContext;
