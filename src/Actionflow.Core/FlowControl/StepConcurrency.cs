using System.Collections.Concurrent;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Expressions;

namespace Actionflow.Core.FlowControl;

/// <summary>
/// A step's <c>concurrency: {key, limit}</c> and its workflow's <c>concurrency_limit</c>: whether a run must be admitted
/// before it runs, and its key. The key is CEL over <c>event</c> (Diffgram's shape) and <c>previous</c> (the finished
/// step's output, for a completion event), as a filter sees them; its value, as text, groups the runs.
/// </summary>
public static class StepConcurrency
{
    public const string Field = "concurrency";

    /// <summary>The key a run gets when its step has no key expression: the limit is then per step.</summary>
    public const string WholeStep = "";

    /// <summary>The key a run gets when its expression fails on its event (a missing field): such runs share one slot group.</summary>
    public const string Unkeyed = "null";

    public static CelEnvironment KeyEnvironment { get; } = new("event", "previous");

    private static readonly ConcurrentDictionary<string, CelCompilation> Compiled = new(StringComparer.Ordinal);

    /// <summary>Whether a run of <paramref name="step"/> waits for a slot before it runs.</summary>
    public static bool Applies(ActionSnapshot step)
    {
        ArgumentNullException.ThrowIfNull(step);
        return step.Action.ConcurrencyLimit is not null || step.WorkflowConcurrencyLimit is not null;
    }

    /// <summary>Compiles a key expression (cached: a definitions version compiles each source once).</summary>
    public static CelCompilation Compile(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (Compiled.TryGetValue(source, out var compiled))
        {
            return compiled;
        }

        compiled = KeyEnvironment.Compile(source);
        return Compiled.Count < 10_000 ? Compiled.GetOrAdd(source, compiled) : compiled;
    }

    /// <summary>The key of a run of <paramref name="action"/> for <paramref name="ev"/>.</summary>
    public static string KeyOf(WorkflowAction action, Event ev)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(ev);
        if (action.ConcurrencyLimit is null || string.IsNullOrWhiteSpace(action.ConcurrencyKey))
        {
            return WholeStep;
        }

        if (Compile(action.ConcurrencyKey).Program is not { } program)
        {
            return Unkeyed;
        }

        var shaped = DiffgramEventCodec.ToDiffgramJson(ev);
        var previous = TriggerFilter.IsStepCompletion(ev) ? shaped["extra_metadata"] : null;
        var result = program.Evaluate(shaped, previous);
        if (result.IsError)
        {
            return Unkeyed;
        }

        var value = result.Value;
        return value.Kind == CelKind.String ? value.AsString : value.ToJson()?.ToJsonString() ?? Unkeyed;
    }
}
