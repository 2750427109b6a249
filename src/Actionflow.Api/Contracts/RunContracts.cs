using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;

namespace Actionflow.Api.Contracts;

/// <summary>
/// Diffgram's <c>ActionRun.serialize()</c> keys plus attempt, error reason, timings, event and workflow run;
/// <c>attempts</c> (each attempt's outcome) in the workflow run detail only. A <c>waiting</c> run (a delay) completes at
/// <c>next_attempt_at</c>; <c>waited_until</c> stays set on it afterwards. A <c>waiting</c> run with no
/// <c>next_attempt_at</c> waits for a concurrency slot: <c>error_reason</c> says why ("waiting: key 7 has 1 of 1 runs
/// running"), <c>concurrency_key</c> names its key.
/// </summary>
public sealed record ActionRunDto(
    long Id,
    string Kind,
    ActionRunStatus Status,
    JsonObject? Output,
    long WorkflowId,
    long ActionId,
    DateTime TimeCreated,
    int Attempt,
    string? ErrorReason,
    DateTime? StartedAt,
    DateTime? FinishedAt,
    long EventId,
    long WorkflowRunId,
    DateTime? NextAttemptAt,
    DateTime? WaitedUntil,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ActionRunAttemptDto>? Attempts = null)
{
    /// <summary>The workflow run's attempt this run belongs to: 1, then one more per rerun (in the workflow run detail only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? WorkflowAttempt { get; init; }

    /// <summary>For a step under a concurrency limit: the run's key ("" for a limit on the whole step or workflow).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ConcurrencyKey { get; init; }

    public static ActionRunDto From(ActionRun r) => From(r, null);

    public static ActionRunDto From(ActionRun r, IReadOnlyList<ActionRunAttemptDto>? attempts) =>
        new(r.Id, r.Kind, r.Status, JsonLimits.Readable(r.Output), r.WorkflowId, r.ActionId, r.TimeCreated, r.Attempt, r.ErrorReason, r.StartedAt, r.FinishedAt,
            r.EventId, r.WorkflowRunId, r.NextAttemptAt, r.WaitedUntil, attempts)
        {
            ConcurrencyKey = r.ConcurrencyKey,
        };
}

/// <summary>How one attempt of an action run ended.</summary>
public sealed record ActionRunAttemptDto(int Attempt, ActionRunStatus Status, DateTime? StartedAt, DateTime FinishedAt, string? Error, string? ErrorType, DateTime? NextAttemptAt)
{
    public static ActionRunAttemptDto From(ActionRunAttempt a) => new(a.Attempt, a.Status, a.StartedAt, a.FinishedAt, a.Error, a.ErrorType, a.NextAttemptAt);
}

public sealed record ActionRunListResponse(IReadOnlyList<ActionRunDto> ActionRunList);

/// <summary>The action runs one root event started in one workflow, oldest step first.</summary>
public sealed record WorkflowRunDto(
    long Id,
    long WorkflowId,
    WorkflowRunStatus Status,
    string? StatusDescription,
    long RootEventId,
    DateTime TimeCreated,
    DateTime TimeUpdated,
    IReadOnlyList<ActionRunDto> ActionRuns)
{
    /// <summary>1, then one more per rerun; each action run says which attempt it belongs to (<c>workflow_attempt</c>).</summary>
    public int Attempt { get; init; } = 1;

    /// <param name="rerunEvents">The ids of the events reruns started, oldest first: a run on or after the n-th belongs to attempt n + 1.</param>
    public static WorkflowRunDto From(WorkflowRun w, IEnumerable<ActionRun> runs, ILookup<long, ActionRunAttempt>? attempts = null, IReadOnlyList<long>? rerunEvents = null)
    {
        var reruns = rerunEvents ?? [];
        return new(w.Id, w.WorkflowId, w.Status, w.StatusDescription, w.RootEventId, w.TimeCreated, w.TimeUpdated,
            runs.OrderBy(r => r.Id)
                .Select(r => ActionRunDto.From(r, attempts?[r.Id].OrderBy(a => a.Attempt).Select(ActionRunAttemptDto.From).ToList())
                    with { WorkflowAttempt = rerunEvents is null ? null : 1 + reruns.Count(e => e <= r.EventId) })
                .ToList())
        {
            Attempt = 1 + reruns.Count,
        };
    }
}

public sealed record WorkflowRunResponse(WorkflowRunDto WorkflowRun);

/// <summary>Body of <c>POST workflow-runs/{id}/rerun</c>: the step to run again, and optionally its input (the event's <c>extra_metadata</c>).</summary>
public sealed record RerunRequest(long? FromActionId, JsonObject? Input);

/// <param name="ActionRunId">The new run of the step.</param>
/// <param name="Attempt">The workflow run's attempt it starts (2 for the first rerun).</param>
public sealed record WorkflowRunRerunResponse(WorkflowRunDto WorkflowRun, long ActionRunId, int Attempt);
