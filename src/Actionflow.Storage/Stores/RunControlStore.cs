using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The API's retry, cancel and dead-letter replay, one transaction each, through <see cref="RunLifecycle"/> and
/// <see cref="WorkflowRunLifecycle"/>. Retry and replay reopen a failed run the same way (<see cref="ReopenAsync"/>).
/// </summary>
public sealed class RunControlStore(IDbContextFactory<ActionflowDbContext> contextFactory, IOutboxSignal signal) : IRunControl
{
    public async Task<RunControlResult> RetryWorkflowRunAsync(long projectId, long workflowRunId, DateTime now, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        var workflowRun = await db.WorkflowRuns.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowRunId && w.ProjectId == projectId, cancellationToken);
        if (workflowRun is null)
        {
            return new RunControlResult(RunControlOutcome.NotFound);
        }

        var refusal = WorkflowRunLifecycle.Refusal(workflowRun.Status, WorkflowRunTransition.Reopen, WorkflowRunStatus.Running);
        int reopened;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            var failed = refusal is null
                ? await db.ActionRuns.AsNoTracking().Where(r => r.WorkflowRunId == workflowRunId && r.Status == ActionRunStatus.Failed).ToListAsync(cancellationToken)
                : [];
            // ReopenAsync's conditional updates make a concurrent second retry (or a cancel) find nothing to do.
            reopened = failed.Count == 0 ? 0 : await ReopenAsync(db, failed, now, cancellationToken);
            if (reopened == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return new RunControlResult(RunControlOutcome.Refused, 0,
                    refusal ?? $"workflow run {workflowRunId} is {WorkflowRunLifecycle.Name(workflowRun.Status)} with no failed step to retry");
            }

            await transaction.CommitAsync(cancellationToken);
        }

        signal.Notify(QueueNames.ActionTriggers);
        return new RunControlResult(RunControlOutcome.Done, reopened);
    }

    /// <summary>The dedup key of a rerun's event: one per workflow run and attempt, so two reruns sent at once make one.</summary>
    public static string RerunKey(long workflowRunId, int attempt) => $"rerun:{workflowRunId}:{attempt}";

    public async Task<RerunResult> RerunFromAsync(
        long projectId, long workflowRunId, long fromActionId, System.Text.Json.Nodes.JsonObject? input, DateTime now, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        var workflowRun = await db.WorkflowRuns.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowRunId && w.ProjectId == projectId, cancellationToken);
        if (workflowRun is null)
        {
            return new RerunResult(RunControlOutcome.NotFound);
        }

        var last = await db.ActionRuns.AsNoTracking()
            .Where(r => r.WorkflowRunId == workflowRunId && r.ActionId == fromActionId)
            .OrderByDescending(r => r.Id)
            .FirstOrDefaultAsync(cancellationToken);
        if (last is null)
        {
            return new RerunResult(RunControlOutcome.Refused, Refusal: $"step {fromActionId} did not run in workflow run {workflowRunId}", RefusedField: "from_action_id");
        }

        var open = WorkflowRunLifecycle.OpenRuns.ToArray();
        var refusal = WorkflowRunLifecycle.Refusal(workflowRun.Status, WorkflowRunTransition.Rerun, WorkflowRunStatus.Running);
        if (refusal is null && await db.ActionRuns.AnyAsync(r => r.WorkflowRunId == workflowRunId && open.Contains(r.Status), cancellationToken))
        {
            refusal = "a step of it has not ended; wait for it or cancel the workflow run first";
        }

        if (refusal is not null)
        {
            return new RerunResult(RunControlOutcome.Refused, Refusal: refusal);
        }

        var original = await db.Events.AsNoTracking().SingleAsync(e => e.Id == last.EventId, cancellationToken);
        var prefix = RerunKey(workflowRunId, 0)[..^1];
        var attempt = 2 + await db.Events.CountAsync(e => e.ProjectId == projectId && e.DedupKey != null && e.DedupKey.StartsWith(prefix), cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var rerunnable = WorkflowRunLifecycle.From(WorkflowRunTransition.Rerun);
        // Conditional on the status read: a rerun (or a cancel) committed meanwhile makes this one find nothing.
        var reopened = await db.WorkflowRuns
            .Where(w => w.Id == workflowRunId && w.Status == workflowRun.Status && rerunnable.Contains(w.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowRunStatus.Running).SetProperty(w => w.StatusDescription, $"rerun from step {fromActionId} (attempt {attempt})")
                .SetProperty(w => w.TimeUpdated, now), cancellationToken);
        if (reopened == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return new RerunResult(RunControlOutcome.Refused, Refusal: "the workflow run changed meanwhile; try again");
        }

        // Joins after the step decide again when their predecessors arrive again (the arrivals of the steps not rerun stay).
        await db.JoinStates.Where(j => j.WorkflowRunId == workflowRunId)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Decision, (string?)null).SetProperty(j => j.TimeUpdated, now), cancellationToken);

        // The step's input as its last run had it: a copy of that event, in this workflow run, under the attempt's key.
        var ev = new Event
        {
            Kind = original.Kind,
            ProjectId = original.ProjectId,
            WorkflowId = original.WorkflowId,
            ActionId = original.ActionId,
            FileId = original.FileId,
            TaskId = original.TaskId,
            JobId = original.JobId,
            DirectoryId = original.DirectoryId,
            InputId = original.InputId,
            MemberId = original.MemberId,
            Description = original.Description,
            ErrorLog = original.ErrorLog,
            ExtraMetadata = (System.Text.Json.Nodes.JsonObject)(input ?? original.ExtraMetadata).DeepClone(),
            Payload = (System.Text.Json.Nodes.JsonObject)original.Payload.DeepClone(),
            Source = original.Source,
            DedupKey = RerunKey(workflowRunId, attempt),
            WorkflowRunId = workflowRunId,
            TimeCreated = now,
        };
        db.Events.Add(ev);
        await db.SaveChangesAsync(cancellationToken);
        var run = new ActionRun
        {
            ProjectId = projectId,
            WorkflowId = last.WorkflowId,
            ActionId = fromActionId,
            WorkflowRunId = workflowRunId,
            EventId = ev.Id,
            Kind = last.Kind,
            Status = ActionRunStatus.Pending,
            TimeCreated = now,
        };
        db.ActionRuns.Add(run);
        await db.SaveChangesAsync(cancellationToken);
        db.OutboxMessages.Add(new TriggerMessage(ev.Id, fromActionId, projectId, run.Id).ToOutbox(now));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        signal.Notify(QueueNames.ActionTriggers);
        return new RerunResult(RunControlOutcome.Done, run.Id, attempt);
    }

    public async Task<RunControlResult> CancelWorkflowRunAsync(long projectId, long workflowRunId, string reason, DateTime now, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        var workflowRun = await db.WorkflowRuns.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowRunId && w.ProjectId == projectId, cancellationToken);
        if (workflowRun is null)
        {
            return new RunControlResult(RunControlOutcome.NotFound);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var cancelable = WorkflowRunLifecycle.From(WorkflowRunTransition.Cancel);
        var closed = await db.WorkflowRuns
            .Where(w => w.Id == workflowRunId && cancelable.Contains(w.Status))
            .ExecuteUpdateAsync(
                s => s.SetProperty(w => w.Status, WorkflowRunStatus.Canceled).SetProperty(w => w.StatusDescription, reason).SetProperty(w => w.TimeUpdated, now),
                cancellationToken);
        if (closed == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return new RunControlResult(RunControlOutcome.Refused, 0,
                WorkflowRunLifecycle.Refusal(workflowRun.Status, WorkflowRunTransition.Cancel, WorkflowRunStatus.Canceled));
        }

        // A running step's worker finds its run canceled when it tries to record the result, and discards it.
        var canceled = await db.ActionRuns
            .Where(r => r.WorkflowRunId == workflowRunId)
            .Where(RunRules.Allowing(now, now, null, RunTransition.Cancel))
            .ExecuteUpdateAsync(RunRules.Canceled(reason, now), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new RunControlResult(RunControlOutcome.Done, canceled);
    }

    public async Task<ReplayResult> ReplayDeadLetterAsync(long? projectId, long deadLetterId, DateTime now, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var letter = await db.DeadLetters.FirstOrDefaultAsync(d => d.Id == deadLetterId && (projectId == null || d.ProjectId == projectId), cancellationToken);
        if (letter is null)
        {
            return new ReplayResult(false);
        }

        long? reopened = null;
        if (letter.Queue == QueueNames.ActionTriggers && TriggerMessage.TryParse(letter.Body, out _) is { } trigger)
        {
            // A trigger of a run that ended failed would be acknowledged as already done: reopen the run, which queues its trigger.
            var run = await db.ActionRuns.AsNoTracking().FirstOrDefaultAsync(
                r => r.EventId == trigger.EventId && r.ActionId == trigger.ActionId && r.ProjectId == trigger.ProjectId, cancellationToken);
            if (run is not null && RunLifecycle.Check(run.Status, RunTransition.Reopen).Allowed && await ReopenAsync(db, [run], now, cancellationToken) == 1)
            {
                reopened = run.Id;
            }
        }

        if (reopened is null)
        {
            db.OutboxMessages.Add(new Actionflow.Core.Domain.OutboxMessage { Queue = letter.Queue, Body = letter.Body, TimeCreated = now });
        }

        db.DeadLetters.Remove(letter);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        signal.Notify(letter.Queue);
        return new ReplayResult(true, letter.Queue, reopened);
    }

    /// <summary>
    /// Reopens failed runs (<see cref="RunTransition.Reopen"/>) and their failed workflow runs
    /// (<see cref="WorkflowRunTransition.Reopen"/>), and queues each reopened run's trigger, inside the caller's
    /// transaction. Returns how many runs it reopened; a run that is no longer failed is left alone.
    /// </summary>
    private static async Task<int> ReopenAsync(ActionflowDbContext db, IReadOnlyList<ActionRun> runs, DateTime now, CancellationToken cancellationToken)
    {
        var ids = runs.Select(r => r.Id).ToArray();
        var workflowRunIds = runs.Select(r => r.WorkflowRunId).Distinct().ToArray();
        var reopenable = RunLifecycle.From(RunTransition.Reopen);
        var reopened = await db.ActionRuns
            .Where(r => ids.Contains(r.Id) && reopenable.Contains(r.Status))
            .ExecuteUpdateAsync(RunRules.Reopened(), cancellationToken);
        if (reopened == 0)
        {
            return 0;
        }

        var failedWorkflowRuns = WorkflowRunLifecycle.From(WorkflowRunTransition.Reopen);
        await db.WorkflowRuns
            .Where(w => workflowRunIds.Contains(w.Id) && failedWorkflowRuns.Contains(w.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowRunStatus.Running).SetProperty(w => w.TimeUpdated, now), cancellationToken);
        foreach (var run in runs)
        {
            db.OutboxMessages.Add(new TriggerMessage(run.EventId, run.ActionId, run.ProjectId, run.Id).ToOutbox(now));
        }

        await db.SaveChangesAsync(cancellationToken);
        return reopened;
    }
}
