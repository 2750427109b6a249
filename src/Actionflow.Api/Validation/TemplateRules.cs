using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Api.Errors;
using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;
using Actionflow.Sdk;

namespace Actionflow.Api.Validation;

/// <summary>How a step's trigger must fit its template (Diffgram never checked it).</summary>
public static class TemplateRules
{
    /// <summary>
    /// The trigger to store: the one sent (or the template's), with <c>event_name</c> defaulting to the template's
    /// <c>default_event_name</c>; the event must be one of the template's <c>event_list</c>.
    /// </summary>
    /// <param name="complete">The step must be runnable now (its workflow is active): a <c>time_trigger</c> needs its expression.</param>
    public static JsonObject Trigger(JsonObject? sent, ActionTemplate template, FieldErrors errors, bool complete = false)
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

        Time(trigger, eventName, complete, errors, "trigger_data");
        return trigger;
    }

    /// <summary>
    /// The time settings of a trigger: for <c>time_trigger</c>, its <c>cron_expression</c> (required when
    /// <paramref name="complete"/>: at activation, since the builder adds the step before the expression is typed),
    /// <c>time_zone</c> and <c>catch_up</c>; for any trigger, its <c>window</c>. Errors are named under <paramref name="prefix"/>
    /// (<c>trigger_data.cron_expression</c>, <c>actions.12.trigger_data.window.max_events</c>).
    /// </summary>
    public static void Time(JsonObject trigger, string? eventName, bool complete, FieldErrors errors, string prefix)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(errors);
        IReadOnlyList<FieldError> found;
        if (eventName == EventKinds.TimeTrigger)
        {
            if (complete || trigger["cron_expression"] is not null || trigger["time_zone"] is not null)
            {
                CronSchedule.FromTriggerData(trigger, out found);
                Add(found, errors, prefix);
            }

            CatchUpSettings.FromTriggerData(trigger, out found);
            Add(found, errors, prefix);
            if (trigger.ContainsKey("window"))
            {
                errors.Add(prefix + ".window", "a time_trigger step runs once per tick; a window applies to steps triggered by events");
            }

            return;
        }

        if (trigger.ContainsKey("window"))
        {
            WindowConfig.Parse(trigger["window"], out found);
            Add(found, errors, prefix);
        }
    }

    private static void Add(IReadOnlyList<FieldError> found, FieldErrors errors, string prefix)
    {
        foreach (var error in found)
        {
            // The modules name fields from trigger_data on; the caller may place them under a step.
            errors.Add(prefix + error.Field["trigger_data".Length..], error.Message);
        }
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
