using System.Text.Json.Nodes;

namespace Actionflow.Core.Domain;

public enum ActionRunStatus
{
    Pending,
    Running,
    /// <summary>An attempt failed in a retryable way; the next one starts at <c>NextAttemptAt</c>.</summary>
    Retrying,
    /// <summary>
    /// Its runner succeeded with a later completion (<c>ActionResult.SuccessAt</c>, the <c>delay</c> action): it
    /// completes at <c>NextAttemptAt</c>, with the output it recorded, without running again.
    /// </summary>
    Waiting,
    Succeeded,
    Failed,
    Skipped,
    /// <summary>Stopped through the API before it ran (or while it ran: its result is discarded).</summary>
    Canceled,
}

public enum WorkflowRunStatus
{
    Running,
    Succeeded,
    Failed,
    Skipped,
    Canceled,
}

public static class RunStatusExtensions
{
    public static bool IsTerminal(this ActionRunStatus status) =>
        status is ActionRunStatus.Succeeded or ActionRunStatus.Failed or ActionRunStatus.Skipped or ActionRunStatus.Canceled;
}

/// <summary>The action runs that one root event started in one workflow.</summary>
public sealed class WorkflowRun
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public long WorkflowId { get; set; }
    public long RootEventId { get; set; }
    public WorkflowRunStatus Status { get; set; }
    public string? StatusDescription { get; set; }
    public DateTime TimeCreated { get; set; }
    public DateTime TimeUpdated { get; set; }
}

/// <summary>One action run for one event: unique per (event, action), retried in place.</summary>
public sealed class ActionRun
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public long WorkflowId { get; set; }
    public long ActionId { get; set; }
    public long WorkflowRunId { get; set; }
    public long EventId { get; set; }
    public required string Kind { get; set; }
    public ActionRunStatus Status { get; set; }
    public int Attempt { get; set; }
    public JsonObject? Output { get; set; }
    public string? ErrorReason { get; set; }
    public string? ErrorType { get; set; }
    public DateTime TimeCreated { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    public DateTime? LeaseUntil { get; set; }
    public string? WorkerId { get; set; }
    /// <summary>When status is <see cref="ActionRunStatus.Retrying"/>: when the next attempt starts; <see cref="ActionRunStatus.Waiting"/>: when it completes.</summary>
    public DateTime? NextAttemptAt { get; set; }
    /// <summary>
    /// Set when the run waited (<see cref="ActionRunStatus.Waiting"/>): the time its wait ended. A run claimed with it set
    /// resumes from its wait (it completes with the output it recorded); a reopened run starts over without it.
    /// </summary>
    public DateTime? WaitedUntil { get; set; }
    /// <summary>
    /// For a step under a concurrency limit (its own or its workflow's): the run's key (the evaluated
    /// <c>concurrency.key</c>, "" without one), set when it was first held back or admitted.
    /// </summary>
    public string? ConcurrencyKey { get; set; }
    /// <summary>
    /// When the run was given a slot under its concurrency limit: from then until it ends it counts against the limit.
    /// Null for a run still waiting for one (<see cref="ActionRunStatus.Waiting"/> with no <see cref="NextAttemptAt"/>).
    /// </summary>
    public DateTime? AdmittedAt { get; set; }
}

/// <summary>One attempt of an action run: when it ran, how it ended, why.</summary>
public sealed class ActionRunAttempt
{
    public long Id { get; set; }
    public long ActionRunId { get; set; }
    public int Attempt { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime FinishedAt { get; set; }
    public ActionRunStatus Status { get; set; }
    public string? Error { get; set; }
    public string? ErrorType { get; set; }
    public string? WorkerId { get; set; }
    public DateTime? NextAttemptAt { get; set; }
}
