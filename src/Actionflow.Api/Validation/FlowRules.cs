using System.Text.Json.Nodes;
using Actionflow.Api.Errors;
using Actionflow.Core.FlowControl;

namespace Actionflow.Api.Validation;

/// <summary>The flow-control fields of a step, checked when it is saved: a filter that cannot compile is refused with its position.</summary>
public static class FlowRules
{
    /// <summary>Checks <c>trigger_data.filter</c> (named under <paramref name="prefix"/>): one error per problem, each with its line and column.</summary>
    public static void Filter(JsonObject trigger, FieldErrors errors, string prefix = "trigger_data")
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (StepFilter.Compile(trigger) is { Succeeded: false } failed)
        {
            foreach (var error in failed.Errors)
            {
                errors.Add($"{prefix}.{StepFilter.Field}", error.ToString());
            }
        }
    }
}
