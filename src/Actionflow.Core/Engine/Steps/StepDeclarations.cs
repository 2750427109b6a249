using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Sdk;

namespace Actionflow.Core.Engine;

/// <summary>
/// What a step chose among what its template declares (<see cref="ActionTemplateAttribute"/>): the precondition it
/// checks and the event its success emits. A choice the template does not declare is a configuration error.
/// </summary>
public static class StepDeclarations
{
    /// <summary>
    /// The precondition to check: <c>precondition.event_name</c> when the step sets it (null there: none), else the
    /// template's default (its first). Null with no <paramref name="refusal"/>: nothing to check.
    /// </summary>
    public static string? PreconditionOf(JsonObject stepPrecondition, ActionDescriptor declared, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(stepPrecondition);
        ArgumentNullException.ThrowIfNull(declared);
        refusal = null;
        string? chosen;
        if (stepPrecondition.TryGetPropertyValue("event_name", out var node))
        {
            if (node is null)
            {
                return null;
            }

            chosen = ReadString(node);
            if (chosen is null)
            {
                refusal = "precondition.event_name must be a string or null";
                return null;
            }
        }
        else
        {
            chosen = declared.Preconditions.Count > 0 ? declared.Preconditions[0] : null;
        }

        if (chosen is not null && !declared.Preconditions.Contains(chosen))
        {
            refusal = declared.Preconditions.Count == 0
                ? $"precondition '{chosen}' is not checked by the '{declared.Kind}' template, which declares none"
                : $"precondition '{chosen}' is not one the '{declared.Kind}' template declares ({string.Join(", ", declared.Preconditions)})";
            return null;
        }

        return chosen;
    }

    /// <summary>
    /// The event a success emits: the one the result named, else the step's <c>completion_condition_data.event_name</c>,
    /// else the template's default; it must be one the template declares (<paramref name="declared"/> null: a run with
    /// no runner, which emits the default <c>action_completed</c>).
    /// </summary>
    public static string? CompletionEventOf(JsonObject stepCompletion, string? reported, ActionDescriptor? declared, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(stepCompletion);
        refusal = null;
        var events = declared?.CompletionEvents ?? [EventKinds.ActionCompleted];
        var chosen = reported ?? ReadString(stepCompletion["event_name"]) ?? events[0];
        if (events.Contains(chosen))
        {
            return chosen;
        }

        var kind = declared?.Kind ?? "(unknown)";
        refusal = reported is not null
            ? $"the runner reported completion event '{chosen}', which the '{kind}' template does not declare ({string.Join(", ", events)})"
            : $"completion_condition_data.event_name '{chosen}' is not one the '{kind}' template declares ({string.Join(", ", events)})";
        return null;
    }

    private static string? ReadString(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 } s ? s : null;
}
