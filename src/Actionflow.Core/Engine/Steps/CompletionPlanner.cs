using System.Globalization;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.FlowControl;
using Actionflow.Core.Json;
using Actionflow.Sdk;

namespace Actionflow.Core.Engine;

/// <summary>Everything the <see cref="CompletionPlanner"/> decides from: data only.</summary>
/// <param name="Step">The step as the run saw it (its definition, previous and next steps).</param>
/// <param name="Trigger">The event that started the run.</param>
/// <param name="Run">The run, held by <paramref name="WorkerId"/>.</param>
/// <param name="Outcome">How the attempt ended.</param>
/// <param name="UnitRandom">A number in [0, 1) for the retry delay's jitter.</param>
public readonly record struct CompletionInput(
    ActionSnapshot Step, Event Trigger, ActionRun Run, StepOutcome Outcome, string WorkerId, DateTime Now, double UnitRandom);

/// <summary>What a finished attempt leads to, for the <see cref="RunRecorder"/> to write in one transaction.</summary>
/// <param name="Completion">The run's new state (<see cref="RunLifecycle.Ending"/>), its attempt record and the workflow run's status.</param>
/// <param name="Emitted">The event the step emits (its completion event, or <c>action_failed</c>), if any.</param>
/// <param name="Next">The steps <paramref name="Emitted"/> starts.</param>
/// <param name="Verdict">What becomes of the trigger message that brought the run (done, or dead-lettered once attempts are exhausted).</param>
/// <param name="Outcome">The outcome as planned (a success reporting an undeclared completion event becomes a failure).</param>
public readonly record struct CompletionPlan(
    RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Next, Verdict Verdict, StepOutcome Outcome)
{
    public bool RetryScheduled => Completion is { NextAttemptAt: not null, Status: ActionRunStatus.Retrying };

    /// <summary>The run waits until <see cref="RunCompletion.NextAttemptAt"/>, then succeeds.</summary>
    public bool Waits => Completion.Status == ActionRunStatus.Waiting;

    public bool Exhausted => Verdict.Kind == VerdictKind.DeadLetter;
}

/// <summary>
/// Decides, with no I/O, what a finished attempt leads to: a retry (and when), a wait (a success that takes effect
/// later), or the run's final status, the event
/// it emits (its declared completion event on success, <c>action_failed</c> on failure), the next steps that event
/// starts, and the workflow run's status. Conditions, branches, joins and delays belong here.
/// </summary>
public static class CompletionPlanner
{
    /// <param name="matchSteps">The steps an event starts (the trigger index, filters applied).</param>
    /// <param name="flowOf">A step's branch settings (condition, else), when it has any: the next steps whose condition
    /// does not hold, and else branches not taken, are recorded skipped with the reason (<see cref="Branches"/>).</param>
    public static CompletionPlan Plan(in CompletionInput input, Func<Event, IReadOnlyList<MatchedStep>> matchSteps, Func<long, StepFlow?>? flowOf = null)
    {
        ArgumentNullException.ThrowIfNull(matchSteps);
        var (step, trigger, run, outcome, workerId, now, unitRandom) = input;
        var action = step.Action;
        if (outcome.Retry is { } policy && outcome.Status == ActionRunStatus.Failed && run.Attempt < policy.MaxAttempts)
        {
            var retryAt = now + policy.DelayAfter(run.Attempt, unitRandom, outcome.RetryAfter);
            var retried = AttemptRecord(run, outcome, now);
            retried.NextAttemptAt = retryAt;
            return new CompletionPlan(
                new RunCompletion(run.Id, workerId, ActionRunStatus.Retrying, outcome.Output, outcome.Reason, outcome.ErrorType, now, null, retryAt, retried),
                null, [], Verdict.Done, outcome);
        }

        if (outcome is { Status: ActionRunStatus.Waiting, WaitUntil: { } until })
        {
            if (until > now)
            {
                // The completion's trigger is written hidden until then, as a retry's is: no timer holds the wait.
                var waiting = AttemptRecord(run, outcome, now);
                waiting.NextAttemptAt = until;
                return new CompletionPlan(
                    new RunCompletion(run.Id, workerId, ActionRunStatus.Waiting, outcome.Output, null, null, now, null, until, waiting),
                    null, [], Verdict.Done, outcome);
            }

            outcome = outcome with { Status = ActionRunStatus.Succeeded, WaitUntil = null };
        }

        string? completionEvent = null;
        if (outcome.Status == ActionRunStatus.Succeeded)
        {
            completionEvent = StepDeclarations.CompletionEventOf(action.CompletionConditionData, outcome.CompletionEvent, outcome.Declared, out var refusal);
            if (refusal is not null)
            {
                outcome = StepOutcome.InvalidConfig(refusal) with { Output = outcome.Output, Declared = outcome.Declared };
            }
        }

        var emitted = outcome.Status switch
        {
            ActionRunStatus.Succeeded => NewEvent(completionEvent!, action, trigger, run, outcome.Output, null, now),
            ActionRunStatus.Failed => NewEvent(EventKinds.ActionFailed, action, trigger, run, outcome.Output, outcome.Reason, now),
            _ => null,
        };
        var next = emitted is null ? [] : matchSteps(emitted);
        if (flowOf is not null && outcome.Status == ActionRunStatus.Succeeded && next.Count > 0)
        {
            var completed = emitted!;
            next = Branches.Decide(next, flowOf, outcome.Output, () => DiffgramEventCodec.ToDiffgramJson(completed), action.Id);
        }
        else if (flowOf is not null && outcome.Status == ActionRunStatus.Failed && emitted is not null && flowOf(action.Id) is { Feeds.Count: > 0 } failedFlow)
        {
            // The joins this step feeds hear that it failed, on its action_failed event.
            next = [.. next, .. Branches.Arrivals(failedFlow, action.Id, ActionRunStatus.Failed, flowOf)];
        }

        WorkflowRunStatus? workflowRunStatus = outcome.Status switch
        {
            ActionRunStatus.Failed => WorkflowRunStatus.Failed,
            // A next step with a window runs later in a workflow run of its own: this one ends here.
            // A next step recorded skipped (a condition, an else not taken) ends its branch at once.
            ActionRunStatus.Succeeded when !step.HasNextStep || next.All(n => n.Windowed || n.SkipReason is not null || n.Join is not null) => WorkflowRunStatus.Succeeded,
            ActionRunStatus.Skipped => trigger.WorkflowRunId == run.WorkflowRunId ? WorkflowRunStatus.Succeeded : WorkflowRunStatus.Skipped,
            _ => null,
        };

        var exhausted = outcome.Retry is { MaxAttempts: > 1 } && outcome.Status == ActionRunStatus.Failed;
        var reason = exhausted ? $"failed after {run.Attempt} attempts: {outcome.Reason}" : outcome.Reason;
        var completion = new RunCompletion(run.Id, workerId, outcome.Status, outcome.Output, reason, outcome.ErrorType, now, workflowRunStatus, null, AttemptRecord(run, outcome, now));
        // An exhausted run is recorded failed; its trigger is parked with the reason so it can be looked at and replayed.
        var verdict = exhausted
            ? Verdict.DeadLetter(reason!, outcome.ErrorType, new Dictionary<string, string>
            {
                [MessageHeaders.EventId] = trigger.Id.ToString(CultureInfo.InvariantCulture),
                [MessageHeaders.ActionId] = action.Id.ToString(CultureInfo.InvariantCulture),
                [MessageHeaders.Attempts] = run.Attempt.ToString(CultureInfo.InvariantCulture),
            })
            : Verdict.Done;
        return new CompletionPlan(completion, emitted, next, verdict, outcome);
    }

    private static ActionRunAttempt AttemptRecord(ActionRun run, StepOutcome outcome, DateTime now) => new()
    {
        ActionRunId = run.Id,
        Attempt = run.Attempt,
        StartedAt = run.StartedAt,
        FinishedAt = now,
        Status = outcome.Status,
        Error = outcome.Reason,
        ErrorType = outcome.ErrorType,
        WorkerId = run.WorkerId,
    };

    /// <summary>The event a step emits: Diffgram's <c>action_completed</c> shape (ids from its output, else from its trigger).</summary>
    /// <remarks>
    /// Its <c>extra_metadata</c> is the output itself, not a copy: the run's record and the event are written from the
    /// one object, nothing changes it after the step, and a runner that reads the event gets a copy of its own
    /// (<see cref="StepInvoker.ToActionEvent"/>). Its payload is the empty object, built only if something reads it.
    /// </remarks>
    private static Event NewEvent(string kind, WorkflowAction action, Event trigger, ActionRun run, JsonObject? output, string? errorLog, DateTime now) =>
        new(kind, output ?? JsonNodes.EmptyObject(), JsonNodes.EmptyObjectUtf8)
        {
            ProjectId = action.ProjectId,
            WorkflowId = action.WorkflowId,
            ActionId = action.Id,
            FileId = IdOf(output, "file_id") ?? trigger.FileId,
            TaskId = IdOf(output, "task_id") ?? trigger.TaskId,
            JobId = IdOf(output, "job_id") ?? trigger.JobId,
            DirectoryId = IdOf(output, "directory_id") ?? trigger.DirectoryId,
            InputId = trigger.InputId,
            MemberId = trigger.MemberId,
            ErrorLog = errorLog,
            Source = EventSources.Engine,
            WorkflowRunId = run.WorkflowRunId,
            TimeCreated = now,
        };

    private static long? IdOf(JsonObject? output, string name) => output is null ? null : JsonNodes.PositiveId(output[name]);
}
