using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;

namespace Actionflow.Api.Contracts;

/// <summary>A step, with Diffgram's <c>action</c> columns. Secret <c>config_data</c> fields read <c>"********"</c> when set.</summary>
public sealed record ActionDto(
    long Id,
    long ProjectId,
    long WorkflowId,
    long? TemplateId,
    string Kind,
    string PublicName,
    string Description,
    string Icon,
    int Ordinal,
    JsonObject TriggerData,
    JsonObject Precondition,
    JsonObject CompletionConditionData,
    JsonObject ConfigData,
    JsonObject? Output,
    JsonObject? OutputInterface,
    JsonObject? RetryPolicy,
    bool Active,
    bool Archived,
    DateTime TimeCreated,
    DateTime TimeUpdated,
    IReadOnlyList<long> DependsOn,
    string? Condition,
    bool ElseBranch,
    string Join,
    string OnPredecessorFailure,
    StepConcurrencyDto? Concurrency = null)
{
    public static ActionDto From(WorkflowAction a, JsonObject maskedConfig) =>
        new(a.Id, a.ProjectId, a.WorkflowId, a.TemplateId, a.Kind, a.PublicName, a.Description, a.Icon, a.Ordinal,
            JsonLimits.Readable(a.TriggerData), JsonLimits.Readable(a.Precondition), JsonLimits.Readable(a.CompletionConditionData),
            JsonLimits.Readable(maskedConfig), JsonLimits.Readable(a.Output), JsonLimits.Readable(a.OutputInterface),
            JsonLimits.Readable(a.RetryPolicy), a.Active, a.Archived, a.TimeCreated, a.TimeUpdated, a.DependsOn, a.Condition, a.ElseBranch,
            a.JoinMode, a.OnPredecessorFailure, a.ConcurrencyLimit is null ? null : new StepConcurrencyDto(a.ConcurrencyKey, a.ConcurrencyLimit));
}

/// <summary>
/// A step's concurrency limit: at most <paramref name="Limit"/> of its runs with the same <paramref name="Key"/> run at
/// once, across all workers; the others wait (status <c>waiting</c>, with the reason) and start in arrival order.
/// </summary>
/// <param name="Key">CEL over <c>event</c> and <c>previous</c> whose value groups the runs (<c>event.file_id</c>); null or
/// left out: one group for the whole step.</param>
/// <param name="Limit">At least 1; null (on update): removes the limit.</param>
public sealed record StepConcurrencyDto(string? Key, int? Limit);

public sealed record ActionResponse(ActionDto Action);

public sealed record PreviousActionResponse(ActionDto PreviousAction);

/// <summary>
/// Body of <c>POST actions/workflow/{workflow_id}/action</c>, as Diffgram's UI sends it. Only <c>kind</c> or
/// <c>template_id</c> is needed: names, icon, trigger, precondition and completion default to the template's,
/// <c>trigger_data.event_name</c> to its <c>default_event_name</c>, <c>ordinal</c> to the number of steps.
/// </summary>
public sealed record CreateActionRequest(
    string? Kind,
    long? TemplateId,
    long? WorkflowId,
    string? PublicName,
    string? Description,
    string? Icon,
    int? Ordinal,
    JsonObject? TriggerData,
    JsonObject? Precondition,
    JsonObject? CompletionConditionData,
    JsonObject? ConfigData,
    JsonObject? OutputInterface,
    JsonObject? RetryPolicy,
    bool? Active,
    IReadOnlyList<long>? DependsOn = null,
    string? Condition = null,
    bool? ElseBranch = null,
    string? Join = null,
    string? OnPredecessorFailure = null,
    StepConcurrencyDto? Concurrency = null);

/// <remarks>
/// Flow control (additions to Diffgram's shape): <c>depends_on</c> (the steps this one follows, by id, in the same
/// workflow; its trigger is then <c>action_completed</c>), <c>condition</c> (CEL over <c>previous</c>, <c>event</c>,
/// <c>steps</c>: when it does not hold the step is recorded skipped), <c>else_branch</c> (runs when no sibling's condition held);
/// for a join (several <c>depends_on</c>) <c>join</c> (<c>all</c>, default, or <c>any</c>) and <c>on_predecessor_failure</c>
/// (<c>skip</c>, default, or <c>fail</c>); <c>concurrency</c> (<c>{"key": "event.file_id", "limit": 1}</c>).
/// On update, <c>concurrency: {"limit": null}</c> removes the limit; <c>depends_on: []</c> goes back to the step before it by ordinal, <c>condition: ""</c> removes the condition.
/// </remarks>
/// <summary>
/// Body of <c>PUT actions/{action_id}</c>. Diffgram's UI sends the whole action back on every edit; fields left out
/// (or null) keep their values; a secret sent back as <c>"********"</c> keeps the stored secret. <c>kind</c> and
/// <c>workflow_id</c> cannot change. <c>retry_policy</c> overrides the runner's retries field by field
/// (max_attempts, initial_delay_ms, factor, max_delay_ms, jitter); <c>{}</c> goes back to the runner's.
/// </summary>
public sealed record UpdateActionRequest(
    string? Kind,
    long? TemplateId,
    long? WorkflowId,
    string? PublicName,
    string? Description,
    string? Icon,
    int? Ordinal,
    JsonObject? TriggerData,
    JsonObject? Precondition,
    JsonObject? CompletionConditionData,
    JsonObject? ConfigData,
    JsonObject? OutputInterface,
    JsonObject? RetryPolicy,
    bool? Active,
    bool? Archived,
    IReadOnlyList<long>? DependsOn = null,
    string? Condition = null,
    bool? ElseBranch = null,
    string? Join = null,
    string? OnPredecessorFailure = null,
    StepConcurrencyDto? Concurrency = null);

public sealed record ActionTemplateDto(
    long Id,
    string Kind,
    string PublicName,
    string Description,
    string Icon,
    string? Category,
    JsonObject TriggerData,
    JsonObject ConditionData,
    JsonObject CompletionConditionData,
    JsonObject ConfigSchema,
    bool IsAvailable,
    DateTime TimeCreated,
    DateTime TimeUpdated)
{
    public static ActionTemplateDto From(ActionTemplate t) =>
        new(t.Id, t.Kind, t.PublicName, t.Description, t.Icon, t.Category, JsonLimits.Readable(t.TriggerData), JsonLimits.Readable(t.ConditionData),
            JsonLimits.Readable(t.CompletionConditionData), JsonLimits.Readable(t.ConfigSchema), t.IsAvailable, t.TimeCreated, t.TimeUpdated);
}

public sealed record ActionTemplateListResponse(IReadOnlyList<ActionTemplateDto> ActionTemplateList);

public sealed record ActionTemplateResponse(ActionTemplateDto ActionTemplate);
