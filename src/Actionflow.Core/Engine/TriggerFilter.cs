using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;
using Actionflow.Sdk;

namespace Actionflow.Core.Engine;

/// <summary>
/// Whether an event starts a step, beyond its kind: the previous step for <c>action_completed</c> and for any other
/// completion event a step emits (a template's declared one, such as <c>export_generate_success</c>), the directory
/// filter of upload triggers, and the scope of manual and time triggers (Diffgram ran every such action of the project).
/// </summary>
public static class TriggerFilter
{
    /// <summary>Null when the step runs for the event; otherwise why it does not.</summary>
    /// <param name="dependsOn">The steps the step declares it follows; when any, they replace <paramref name="previousActionId"/>.</param>
    public static string? Check(long actionId, long workflowId, long? previousActionId, JsonObject triggerData, Event ev, IReadOnlyList<long>? dependsOn = null)
    {
        if (dependsOn is { Count: > 0 } && IsStepCompletion(ev))
        {
            return ev.WorkflowId == workflowId && ev.ActionId is { } completed && dependsOn.Contains(completed)
                ? null
                : $"{ev.Kind} of action {Describe(ev.ActionId)}, not of a step it depends on ({string.Join(", ", dependsOn)})";
        }

        switch (ev.Kind)
        {
            case EventKinds.ActionCompleted:
                return CheckPreviousStep(previousActionId, ev);
            case EventKinds.ActionFailed:
                return ev.WorkflowId == workflowId ? null : "action_failed of another workflow";
            case EventKinds.ManualTrigger:
                if (ev.ActionId is not null)
                {
                    return ev.ActionId == actionId ? null : $"manual trigger names action {ev.ActionId}";
                }

                return ev.WorkflowId == workflowId ? null : ev.WorkflowId is null ? "manual trigger names no workflow or action" : $"manual trigger names workflow {ev.WorkflowId}";
            case EventKinds.TimeTrigger:
                if (ev.WorkflowId != workflowId)
                {
                    return ev.WorkflowId is null ? "time trigger names no workflow" : $"time trigger names workflow {ev.WorkflowId}";
                }

                return ev.ActionId is not null && ev.ActionId != actionId ? $"time trigger names action {ev.ActionId}" : null;
            default:
                return IsStepCompletion(ev) ? CheckPreviousStep(previousActionId, ev) : CheckDirectory(triggerData, ev);
        }
    }

    /// <summary>An event a step emitted on success: it starts the next step of that step's workflow only.</summary>
    public static bool IsStepCompletion(Event ev)
    {
        ArgumentNullException.ThrowIfNull(ev);
        return ev.Kind == EventKinds.ActionCompleted || (ev.Source == EventSources.Engine && ev.ActionId is not null && ev.Kind != EventKinds.ActionFailed);
    }

    private static string? CheckPreviousStep(long? previousActionId, Event ev)
    {
        if (previousActionId is null)
        {
            return $"triggered by {ev.Kind} but this is the first step of its workflow";
        }

        return ev.ActionId == previousActionId
            ? null
            : $"{ev.Kind} of action {Describe(ev.ActionId)}, not of the previous step {previousActionId}";
    }

    private static string? CheckDirectory(JsonObject triggerData, Event ev)
    {
        // Checked on every match: the filter is read where it is, no set of it is built.
        var any = false;
        var dir = ev.DirectoryId;
        if (ReadLong(triggerData["directory_id"]) is { } single)
        {
            any = true;
            if (single == dir)
            {
                return null;
            }
        }

        if (triggerData["upload_directory_id_list"] is JsonArray list)
        {
            foreach (var item in list)
            {
                if (ReadLong(item) is { } id)
                {
                    any = true;
                    if (id == dir)
                    {
                        return null;
                    }
                }
            }
        }

        return !any ? null : $"event directory {Describe(dir)} is not among the step's directories";
    }

    private static long? ReadLong(JsonNode? node) => JsonNodes.TryGetInt64(node, out var n) ? n : null;

    private static string Describe(long? id) => id?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)";
}
