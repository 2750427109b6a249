using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Expressions;

namespace Actionflow.Core.FlowControl;

/// <summary>
/// A step's <c>trigger_data.filter</c>: a CEL condition over <c>event</c> (the event in Diffgram's message shape,
/// <c>extra_metadata</c> included) and <c>previous</c> (the output of the step that completed, for a completion
/// event; null otherwise). Compiled once per definitions version by the <see cref="TriggerIndex"/>, tested where an
/// event is matched: an event it does not hold for starts nothing.
/// </summary>
public static class StepFilter
{
    public const string Field = "filter";

    /// <summary>The variables a filter may use, in the order <see cref="Test"/> gives them.</summary>
    public static CelEnvironment Environment { get; } = new("event", "previous");

    /// <summary>The filter's source, or null when the trigger has none (absent, null or blank).</summary>
    /// <param name="invalid">Set when <c>filter</c> is there but is not a string.</param>
    public static string? SourceOf(JsonObject triggerData, out bool invalid)
    {
        ArgumentNullException.ThrowIfNull(triggerData);
        invalid = false;
        switch (triggerData[Field])
        {
            case null:
                return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                var source = v.GetValue<string>();
                return string.IsNullOrWhiteSpace(source) ? null : source;
            default:
                invalid = true;
                return null;
        }
    }

    /// <summary>
    /// Compiles the trigger's filter: a program, null when it has none, or the errors (a filter that is not a string is
    /// one error at offset 0).
    /// </summary>
    public static CelCompilation? Compile(JsonObject triggerData)
    {
        var source = SourceOf(triggerData, out var invalid);
        if (invalid)
        {
            return new CelCompilation(null, [new CelError(0, "must be a string holding a CEL expression")]);
        }

        return source is null ? null : Environment.CompileCondition(source);
    }

    /// <summary>
    /// Whether <paramref name="filter"/> holds for the event (<paramref name="shaped"/>: its Diffgram JSON). A runtime
    /// error (a missing field, a wrong type) does not hold: the event simply does not start the step.
    /// </summary>
    public static CelCondition Test(CelProgram filter, Event ev, JsonObject shaped)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(shaped);
        var previous = TriggerFilter.IsStepCompletion(ev) ? shaped["extra_metadata"] : null;
        return filter.Test(shaped, previous);
    }
}
