using System.Text.Json.Nodes;

namespace Actionflow.Core.Domain;

/// <summary>A step of a workflow (Diffgram's <c>action</c> row).</summary>
public sealed class WorkflowAction
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public long WorkflowId { get; set; }
    public long? TemplateId { get; set; }
    public required string Kind { get; set; }
    public string PublicName { get; set; } = "";
    public string Description { get; set; } = "";
    public string Icon { get; set; } = "";
    public int Ordinal { get; set; }
    public JsonObject TriggerData { get; set; } = [];
    public JsonObject Precondition { get; set; } = [];
    public JsonObject CompletionConditionData { get; set; } = [];
    public JsonObject ConfigData { get; set; } = [];
    public JsonObject? Output { get; set; }
    public JsonObject? OutputInterface { get; set; }
    /// <summary>Overrides the runner's retry policy, field by field: max_attempts, initial_delay_ms, factor, max_delay_ms, jitter.</summary>
    public JsonObject? RetryPolicy { get; set; }
    /// <summary>The steps this one follows (explicit edges); empty: Diffgram's implicit edge from the previous step by ordinal.</summary>
    public List<long> DependsOn { get; set; } = [];
    /// <summary>A CEL condition over <c>previous</c>, <c>event</c> and <c>steps</c>: when it does not hold after a predecessor, the step is recorded skipped.</summary>
    public string? Condition { get; set; }
    /// <summary>Runs only when no sibling (a step following the same predecessor) with a condition had it hold.</summary>
    public bool ElseBranch { get; set; }
    /// <summary>For a step with several <c>depends_on</c> (a join): <c>all</c> (default) or <c>any</c>.</summary>
    public string JoinMode { get; set; } = "all";
    /// <summary>For a join: what a failed or skipped predecessor does to it, <c>skip</c> (default) or <c>fail</c>.</summary>
    public string OnPredecessorFailure { get; set; } = "skip";
    /// <summary>
    /// The step's <c>concurrency.key</c>: a CEL expression over <c>event</c> and <c>previous</c> whose value groups its
    /// runs; null with a <see cref="ConcurrencyLimit"/> means one group for the whole step.
    /// </summary>
    public string? ConcurrencyKey { get; set; }
    /// <summary>The step's <c>concurrency.limit</c>: at most this many of its runs per key run at once; null: no limit.</summary>
    public int? ConcurrencyLimit { get; set; }
    public bool Active { get; set; } = true;
    public bool Archived { get; set; }
    public DateTime TimeCreated { get; set; }
    public DateTime TimeUpdated { get; set; }

    /// <summary>The event kind that starts this step: <c>trigger_data.event_name</c>, else the template default stored with it.</summary>
    public string? TriggerEventName => ReadString("event_name") ?? ReadString("default_event_name");

    private string? ReadString(string key) =>
        TriggerData[key] is JsonValue v && v.TryGetValue<string>(out var s) && !string.IsNullOrWhiteSpace(s) ? s : null;
}
