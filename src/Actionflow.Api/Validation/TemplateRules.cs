using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Api.Errors;
using Actionflow.Core.Domain;

namespace Actionflow.Api.Validation;

/// <summary>How a step's trigger must fit its template (Diffgram never checked it).</summary>
public static class TemplateRules
{
    /// <summary>
    /// The trigger to store: the one sent (or the template's), with <c>event_name</c> defaulting to the template's
    /// <c>default_event_name</c>; the event must be one of the template's <c>event_list</c>.
    /// </summary>
    public static JsonObject Trigger(JsonObject? sent, ActionTemplate template, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(errors);
        var trigger = (JsonObject)(sent ?? template.TriggerData).DeepClone();
        var defaultEvent = ReadString(template.TriggerData["default_event_name"]);
        string? eventName;
        switch (trigger["event_name"])
        {
            case null:
                eventName = ReadString(trigger["default_event_name"]) ?? defaultEvent;
                trigger["event_name"] = eventName;
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                eventName = v.GetValue<string>();
                break;
            default:
                errors.Add("trigger_data.event_name", "must be a string");
                return trigger;
        }

        var allowed = Events(template.TriggerData);
        if (defaultEvent is not null && !allowed.Contains(defaultEvent))
        {
            allowed.Add(defaultEvent);
        }

        if (string.IsNullOrWhiteSpace(eventName))
        {
            errors.Add("trigger_data.event_name", $"is required (the '{template.Kind}' template has no default event)");
        }
        else if (!allowed.Contains(eventName))
        {
            errors.Add("trigger_data.event_name", $"'{eventName}' is not an event of the '{template.Kind}' template; use one of: {string.Join(", ", allowed)}");
        }

        return trigger;
    }

    private static List<string> Events(JsonObject eventList) =>
        (eventList["event_list"] as JsonArray ?? [])
            .Select(e => ReadString(e is JsonObject o ? o["value"] ?? o["name"] : e))
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .ToList();

    private static string? ReadString(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 } s ? s : null;
}
