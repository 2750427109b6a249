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

    /// <summary>The outbox rows that trigger <paramref name="actionIds"/> for <paramref name="ev"/>.</summary>
    public static IEnumerable<OutboxMessage> ToOutbox(Event ev, IEnumerable<long> actionIds, DateTime now) =>
        actionIds.Select(actionId => new OutboxMessage
        {
            Queue = QueueNames.ActionTriggers,
            Body = new TriggerMessage(ev.Id, actionId, ev.ProjectId).ToBytes(),
            Headers = null,
            TimeCreated = now,
        });
}

[JsonSerializable(typeof(TriggerMessage))]
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
internal sealed partial class TriggerMessageJsonContext : JsonSerializerContext;
