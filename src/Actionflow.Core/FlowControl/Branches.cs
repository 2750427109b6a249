using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Expressions;

namespace Actionflow.Core.FlowControl;

/// <summary>A step's branch settings, compiled once per definitions version (with the trigger index).</summary>
/// <param name="Condition">Its <c>condition</c>, compiled; null when it has none.</param>
public sealed record StepFlow(long ActionId, CelProgram? Condition, bool ElseBranch)
{
    /// <summary>Set when the step is a join (several <c>depends_on</c>).</summary>
    public JoinSettings? Join { get; init; }

    /// <summary>The joins this step is a predecessor of: each hears of this step's end, whether it succeeded, failed or was skipped.</summary>
    public IReadOnlyList<MatchedStep> Feeds { get; init; } = [];

    /// <summary>The variables a condition may use: the predecessor's output, the event it emitted, and outputs keyed by step id.</summary>
    public static CelEnvironment ConditionEnvironment { get; } = new("previous", "event", "steps");

    /// <summary>Compiles a step's settings; null (with <paramref name="errors"/>) when its condition does not compile.</summary>
    public static StepFlow? Compile(long actionId, string? condition, bool elseBranch, out IReadOnlyList<CelError> errors)
    {
        errors = [];
        if (string.IsNullOrWhiteSpace(condition) || elseBranch)
        {
            return new StepFlow(actionId, null, elseBranch);
        }

        var compiled = ConditionEnvironment.CompileCondition(condition);
        errors = compiled.Errors;
        return compiled.Program is { } program ? new StepFlow(actionId, program, false) : null;
    }
}

/// <summary>
/// Which of the steps that follow a finished step run: a step with a condition runs when it holds and is recorded
/// skipped (with the condition and why) when it does not, or when evaluating it fails; an else step runs when no sibling
/// with a condition had it hold, and is recorded skipped otherwise. Steps with neither always run. Pure.
/// </summary>
public static class Branches
{
    /// <param name="next">The steps the finished step's completion event matched (its successors).</param>
    /// <param name="flowOf">A step's compiled settings; null for a step with none.</param>
    /// <param name="previous">The finished step's output.</param>
    /// <param name="emitted">The event it emitted, in Diffgram's shape (built only when a condition needs it).</param>
    /// <param name="predecessorId">The finished step, the key of its output in <c>steps</c>.</param>
    public static IReadOnlyList<MatchedStep> Decide(
        IReadOnlyList<MatchedStep> next, Func<long, StepFlow?> flowOf, JsonObject? previous, Func<JsonObject> emitted, long predecessorId)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(flowOf);
        ArgumentNullException.ThrowIfNull(emitted);
        if (next.Count == 0)
        {
            return next;
        }

        MatchedStep[]? decided = null;
        JsonNode? eventJson = null;
        JsonObject? steps = null;
        var held = new HashSet<long>();
        var elses = new List<int>();
        for (var i = 0; i < next.Count; i++)
        {
            var step = next[i];
            if (flowOf(step.ActionId) is not { } flow)
            {
                continue;
            }

            if (flow.ElseBranch)
            {
                elses.Add(i);
                continue;
            }

            if (flow.Condition is not { } condition)
            {
                continue;
            }

            eventJson ??= emitted();
            steps ??= new JsonObject { [predecessorId.ToString(System.Globalization.CultureInfo.InvariantCulture)] = previous?.DeepClone() };
            var test = condition.Test(previous, eventJson, steps);
            if (test.Holds)
            {
                held.Add(step.WorkflowId);
                continue;
            }

            decided ??= [.. next];
            decided[i] = step with { SkipReason = $"condition not met: {condition.Source} ({test.Reason})" };
        }

        foreach (var i in elses)
        {
            var step = next[i];
            if (held.Contains(step.WorkflowId))
            {
                decided ??= [.. next];
                decided[i] = step with { SkipReason = "else branch: a sibling's condition held" };
            }
        }

        var result = decided ?? next;
        List<MatchedStep>? withArrivals = null;
        for (var i = 0; i < result.Count; i++)
        {
            var step = result[i];
            if (flowOf(step.ActionId) is not { } flow)
            {
                continue;
            }

            if (flow.Join is { } join)
            {
                // A join hears that this predecessor succeeded; the store decides whether it runs.
                (withArrivals ??= [.. result])[i] = step with { Join = new JoinArrival(predecessorId, ActionRunStatus.Succeeded, previous, join) };
            }
            else if (step.SkipReason is not null && flow.Feeds.Count > 0)
            {
                // A branch not taken still arrives, skipped, at the joins it leads to: they must not wait for it.
                withArrivals ??= [.. result];
                withArrivals.AddRange(Arrivals(flow, step.ActionId, ActionRunStatus.Skipped, flowOf));
            }
        }

        return withArrivals ?? result;
    }

    /// <summary>The arrivals of a step that ended without success at the joins it feeds.</summary>
    public static IEnumerable<MatchedStep> Arrivals(StepFlow flow, long predecessorId, ActionRunStatus status, Func<long, StepFlow?> flowOf)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(flowOf);
        foreach (var join in flow.Feeds)
        {
            if (flowOf(join.ActionId)?.Join is { } settings)
            {
                yield return join with { Join = new JoinArrival(predecessorId, status, null, settings) };
            }
        }
    }
}
