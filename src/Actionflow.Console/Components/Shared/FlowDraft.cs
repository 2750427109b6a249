using System.Globalization;
using Actionflow.Client;

namespace Actionflow.Console.Components.Shared;

/// <summary>A step's flow-control fields as the builder drafts them, turned into the API's fields when saved.</summary>
public sealed class FlowDraft
{
    public string? Filter { get; set; }
    public HashSet<long> DependsOn { get; } = [];
    public string? Condition { get; set; }
    public bool ElseBranch { get; set; }
    public string Join { get; set; } = "all";
    public string OnPredecessorFailure { get; set; } = "skip";
    public string? ConcurrencyKey { get; set; }
    public string? ConcurrencyLimit { get; set; }

    public static FlowDraft Of(WorkflowStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var draft = new FlowDraft
        {
            Filter = (string?)step.TriggerData["filter"],
            Condition = step.Condition,
            ElseBranch = step.ElseBranch,
            Join = step.Join,
            OnPredecessorFailure = step.OnPredecessorFailure,
            ConcurrencyKey = step.Concurrency?.Key,
            ConcurrencyLimit = step.Concurrency?.Limit?.ToString(CultureInfo.InvariantCulture),
        };
        draft.DependsOn.UnionWith(step.DependsOn ?? []);
        return draft;
    }

    /// <summary>The limit as sent: a number the API checks (a text that is not one is sent as 0, which it refuses at the field).</summary>
    public StepConcurrency Concurrency()
    {
        int? limit = string.IsNullOrWhiteSpace(ConcurrencyLimit) ? null
            : int.TryParse(ConcurrencyLimit, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;
        return new StepConcurrency(string.IsNullOrWhiteSpace(ConcurrencyKey) ? null : ConcurrencyKey, limit);
    }
}
