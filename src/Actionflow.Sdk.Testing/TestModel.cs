using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;

namespace Actionflow.Sdk.Testing;

/// <summary>A made-up event to run an action against; every field has a usable default.</summary>
public sealed record TestEvent
{
    /// <summary>The event kind; <c>input_file_uploaded</c> unless set.</summary>
    public string Kind { get; init; } = EventKinds.InputFileUploaded;
    /// <summary>The event id.</summary>
    public long Id { get; init; } = 1;
    /// <summary>The project.</summary>
    public long ProjectId { get; init; } = 1;
    /// <summary>The workflow the event names.</summary>
    public long? WorkflowId { get; init; }
    /// <summary>The action the event names (for <c>action_completed</c>, the step that completed).</summary>
    public long? ActionId { get; init; }
    /// <summary>The file.</summary>
    public long? FileId { get; init; }
    /// <summary>The task.</summary>
    public long? TaskId { get; init; }
    /// <summary>The job.</summary>
    public long? JobId { get; init; }
    /// <summary>The directory.</summary>
    public long? DirectoryId { get; init; }
    /// <summary>The input.</summary>
    public long? InputId { get; init; }
    /// <summary>The member.</summary>
    public long? MemberId { get; init; }
    /// <summary>Free-form data; for <c>action_completed</c>, the previous step's output.</summary>
    public JsonObject? ExtraMetadata { get; init; }
    /// <summary>The message as received, unknown keys included (what the action sees as <see cref="ActionEvent.Payload"/>).</summary>
    public JsonObject? Payload { get; init; }
    /// <summary>When it was recorded; a fixed instant unless set.</summary>
    public DateTime TimeCreated { get; init; } = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    internal Event ToEvent() => new()
    {
        Id = Id,
        Kind = Kind,
        ProjectId = ProjectId,
        WorkflowId = WorkflowId,
        ActionId = ActionId,
        FileId = FileId,
        TaskId = TaskId,
        JobId = JobId,
        DirectoryId = DirectoryId,
        InputId = InputId,
        MemberId = MemberId,
        ExtraMetadata = (JsonObject?)ExtraMetadata?.DeepClone() ?? [],
        Payload = (JsonObject?)Payload?.DeepClone() ?? [],
        Source = EventSources.Api,
        TimeCreated = TimeCreated,
    };
}

/// <summary>The step and run an action runs as; every field has a usable default.</summary>
public sealed record TestStep
{
    /// <summary>The step (action) id.</summary>
    public long Id { get; init; } = 1;
    /// <summary>Its workflow.</summary>
    public long WorkflowId { get; init; } = 1;
    /// <summary>Its position in the workflow.</summary>
    public int Ordinal { get; init; }
    /// <summary>Its <c>precondition</c> (<c>{"event_name": ...}</c> picks one of the template's; null there: none).</summary>
    public JsonObject? Precondition { get; init; }
    /// <summary>Its <c>completion_condition_data</c> (<c>{"event_name": ...}</c> picks the completion event).</summary>
    public JsonObject? CompletionConditionData { get; init; }
    /// <summary>Its <c>retry_policy</c> override.</summary>
    public JsonObject? RetryPolicy { get; init; }
    /// <summary>The run id (the same on every attempt).</summary>
    public long RunId { get; init; } = 1;
    /// <summary>The workflow run id.</summary>
    public long WorkflowRunId { get; init; } = 1;
    /// <summary>The attempt, from 1.</summary>
    public int Attempt { get; init; } = 1;
}

/// <summary>What running an action led to, as the engine would record it.</summary>
public sealed class ActionTestResult
{
    internal ActionTestResult(CompletionPlan plan)
    {
        var outcome = plan.Outcome;
        Status = plan.RetryScheduled ? ActionRunStatus.Retrying : plan.Waits ? ActionRunStatus.Waiting : outcome.Status;
        Output = outcome.Output ?? [];
        FailureReason = outcome.Reason;
        ErrorType = outcome.ErrorType;
        IsRetryable = outcome.Retry is not null;
        RetryAfter = outcome.RetryAfter;
        RetryAt = plan.RetryScheduled ? plan.Completion.NextAttemptAt : null;
        SucceedsAt = plan.Waits ? plan.Completion.NextAttemptAt : null;
        CompletionEvent = outcome.Status == ActionRunStatus.Succeeded ? plan.Emitted?.Kind : null;
        Emitted = plan.Emitted;
    }

    /// <summary>Succeeded, failed, skipped, retrying (a retryable failure with attempts left), or waiting (a success that takes effect later).</summary>
    public ActionRunStatus Status { get; }

    /// <summary>True when the action did its work.</summary>
    public bool Succeeded => Status == ActionRunStatus.Succeeded;

    /// <summary>True when the precondition was not met (or the step no longer applied).</summary>
    public bool Skipped => Status == ActionRunStatus.Skipped;

    /// <summary>The output recorded on the run.</summary>
    public JsonObject Output { get; }

    /// <summary>Why it failed or was skipped.</summary>
    public string? FailureReason { get; }

    /// <summary>The engine's classification: <c>ActionFailed</c>, <c>RetryableFailure</c>, <c>InvalidConfig</c>, or the type of the exception thrown.</summary>
    public string? ErrorType { get; }

    /// <summary>True when the failure is retried under the retry policy (a retryable failure or an exception).</summary>
    public bool IsRetryable { get; }

    /// <summary>The <c>Retry-After</c> the failure asked for.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>When the next attempt would start, if one is due.</summary>
    public DateTime? RetryAt { get; }

    /// <summary>For a result of <c>ActionResult.SuccessAt</c> in the future: when the run, waiting until then, succeeds.</summary>
    public DateTime? SucceedsAt { get; }

    /// <summary>The completion event a success emits (the step after it, triggered by that event, runs next).</summary>
    public string? CompletionEvent { get; }

    /// <summary>The event the engine would emit: the completion event, or <c>action_failed</c>.</summary>
    public Event? Emitted { get; }
}
