using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

public sealed class PipelineStore(IDbContextFactory<ActionflowDbContext> contextFactory) : IPipelineStore
{
    private static readonly TimeSpan RetryEarliness = TimeSpan.FromMilliseconds(50);

    public async Task<(Event Event, bool Inserted)> AcceptEventAsync(Event ev, IReadOnlyList<long> matchedActionIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(matchedActionIds);
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);

        // Redeliveries are the common duplicate: answer them without provoking (and logging) a unique violation.
        if (await FindDuplicateAsync(db, ev, cancellationToken) is { } known)
        {
            return (known, false);
        }

        if (await TryInsertAsync(db, ev, matchedActionIds, cancellationToken))
        {
            return (ev, true);
        }

        var existing = await FindDuplicateAsync(db, ev, cancellationToken)
            ?? throw new InvalidOperationException($"event ({ev.ProjectId}, {ev.DedupKey}) violated the dedup index but cannot be found");
        return (existing, false);
    }

    public async Task<Event?> FindEventAsync(long eventId, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        return await db.Events.AsNoTracking().FirstOrDefaultAsync(e => e.Id == eventId, cancellationToken);
    }

    public async Task<ActionSnapshot?> LoadActionAsync(long actionId, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        var row = await (
                from a in db.Actions.AsNoTracking()
                join w in db.Workflows on a.WorkflowId equals w.Id into workflows
                from w in workflows.DefaultIfEmpty()
                where a.Id == actionId
                select new { Action = a, Active = (bool?)w.Active, Archived = (bool?)w.Archived })
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null)
        {
            return null;
        }

        var action = row.Action;
        var steps = (await db.Actions
                .Where(a => a.WorkflowId == action.WorkflowId && !a.Archived)
                .Select(a => new { a.Id, a.Ordinal })
                .ToListAsync(cancellationToken))
            .Select(s => (s.Id, s.Ordinal))
            .ToList();
        return new ActionSnapshot(
            action,
            row.Active ?? false,
            row.Archived ?? true,
            StepOrder.Previous(steps, action.Ordinal),
            StepOrder.HasNext(steps, action.Ordinal));
    }

    public async Task<RunClaim> ClaimRunAsync(RunClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        var run = await FindRunAsync(db, request, cancellationToken)
            ?? await CreateRunAsync(db, request, await GetOrCreateWorkflowRunAsync(db, request, cancellationToken), cancellationToken);

        if (run.Status.IsTerminal())
        {
            await transaction.CommitAsync(cancellationToken);
            return new RunClaim(RunClaimState.AlreadyTerminal, run);
        }

        var now = request.Now;
        if (run.Status == ActionRunStatus.Running && run.LeaseUntil > now)
        {
            await transaction.CommitAsync(cancellationToken);
            return new RunClaim(RunClaimState.HeldElsewhere, run);
        }

        // Retries are due a little early too: the relay's wake-up and the clocks of two workers are not exact.
        var dueBy = now + RetryEarliness;
        if (run.Status == ActionRunStatus.Retrying && run.NextAttemptAt > dueBy)
        {
            await transaction.CommitAsync(cancellationToken);
            return new RunClaim(RunClaimState.NotDue, run);
        }

        // The WHERE re-checks the state: under read committed a concurrent claim that committed first makes this match nothing.
        var claimed = await db.ActionRuns
            .Where(r => r.Id == run.Id
                && (r.Status == ActionRunStatus.Pending
                    || (r.Status == ActionRunStatus.Retrying && (r.NextAttemptAt == null || r.NextAttemptAt <= dueBy))
                    || (r.Status == ActionRunStatus.Running && (r.LeaseUntil == null || r.LeaseUntil <= now))))
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Status, ActionRunStatus.Running)
                    .SetProperty(r => r.Attempt, r => r.Attempt + 1)
                    .SetProperty(r => r.StartedAt, now)
                    .SetProperty(r => r.LeaseUntil, request.LeaseUntil)
                    .SetProperty(r => r.WorkerId, request.WorkerId)
                    .SetProperty(r => r.NextAttemptAt, (DateTime?)null),
                cancellationToken);
        var current = await db.ActionRuns.AsNoTracking().SingleAsync(r => r.Id == run.Id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        var state = claimed == 1 ? RunClaimState.Claimed
            : current.Status.IsTerminal() ? RunClaimState.AlreadyTerminal
            : current.Status == ActionRunStatus.Retrying ? RunClaimState.NotDue
            : RunClaimState.HeldElsewhere;
        return new RunClaim(state, current);
    }

    public async Task<bool> CompleteRunAsync(RunCompletion completion, Event? emitted, IReadOnlyList<long> emittedMatches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentNullException.ThrowIfNull(emittedMatches);
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        var finishedAt = completion.FinishedAt;
        var ended = await db.ActionRuns
            .Where(r => r.Id == completion.RunId && r.Status == ActionRunStatus.Running && r.WorkerId == completion.WorkerId)
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Status, completion.Status)
                    .SetProperty(r => r.Output, completion.Output)
                    .SetProperty(r => r.ErrorReason, completion.ErrorReason)
                    .SetProperty(r => r.ErrorType, completion.ErrorType)
                    .SetProperty(r => r.FinishedAt, finishedAt)
                    .SetProperty(r => r.LeaseUntil, (DateTime?)null),
                cancellationToken);
        if (ended == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        if (completion.Attempt is { } attempt)
        {
            attempt.ActionRunId = completion.RunId;
            db.ActionRunAttempts.Add(attempt);
            await db.SaveChangesAsync(cancellationToken);
        }

        if (completion.RetryAt is { } retryAt)
        {
            // The next attempt's trigger, hidden until it is due; committed with the failed attempt, so a crash loses neither.
            var run = await db.ActionRuns.AsNoTracking()
                .Where(r => r.Id == completion.RunId)
                .Select(r => new { r.EventId, r.ActionId, r.ProjectId })
                .SingleAsync(cancellationToken);
            await db.ActionRuns.Where(r => r.Id == completion.RunId)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.NextAttemptAt, retryAt), cancellationToken);
            db.OutboxMessages.Add(new OutboxMessage
            {
                Queue = QueueNames.ActionTriggers,
                Body = new TriggerMessage(run.EventId, run.ActionId, run.ProjectId).ToBytes(),
                TimeCreated = finishedAt,
                AvailableAt = retryAt,
            });
            await db.SaveChangesAsync(cancellationToken);
        }

        if (emitted is not null)
        {
            db.Events.Add(emitted);
            await db.SaveChangesAsync(cancellationToken);
            await AddTriggersAsync(db, emitted, emittedMatches, cancellationToken);
        }

        if (completion.WorkflowRunStatus is { } workflowStatus)
        {
            var workflowRunId = db.ActionRuns.Where(r => r.Id == completion.RunId).Select(r => r.WorkflowRunId);
            await db.WorkflowRuns
                .Where(w => workflowRunId.Contains(w.Id) && w.Status != WorkflowRunStatus.Failed && w.Status != WorkflowRunStatus.Canceled)
                .ExecuteUpdateAsync(
                    s => s.SetProperty(w => w.Status, workflowStatus).SetProperty(w => w.TimeUpdated, finishedAt),
                    cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<int> RequeueAbandonedRunsAsync(DateTime expiredBefore, DateTime now, int max, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var abandoned = await db.ActionRuns.AsNoTracking()
            .Where(r => r.Status == ActionRunStatus.Running && r.LeaseUntil != null && r.LeaseUntil < expiredBefore)
            .OrderBy(r => r.LeaseUntil)
            .Take(max)
            .Select(r => new { r.Id, r.EventId, r.ActionId, r.ProjectId })
            .ToListAsync(cancellationToken);
        var requeued = 0;
        foreach (var run in abandoned)
        {
            // Conditional, so a worker that claimed it meanwhile keeps it.
            var changed = await db.ActionRuns
                .Where(r => r.Id == run.Id && r.Status == ActionRunStatus.Running && r.LeaseUntil < expiredBefore)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, ActionRunStatus.Pending).SetProperty(r => r.LeaseUntil, (DateTime?)null), cancellationToken);
            if (changed == 1)
            {
                db.OutboxMessages.Add(new OutboxMessage
                {
                    Queue = QueueNames.ActionTriggers,
                    Body = new TriggerMessage(run.EventId, run.ActionId, run.ProjectId).ToBytes(),
                    TimeCreated = now,
                });
                requeued++;
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return requeued;
    }

    public async Task RenewLeasesAsync(IReadOnlyCollection<long> runIds, string workerId, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        if (runIds.Count == 0)
        {
            return;
        }

        var ids = runIds.ToArray();
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        await db.ActionRuns
            .Where(r => ids.Contains(r.Id) && r.WorkerId == workerId && r.Status == ActionRunStatus.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.LeaseUntil, leaseUntil), cancellationToken);
    }

    private static async Task<Event?> FindDuplicateAsync(ActionflowDbContext db, Event ev, CancellationToken cancellationToken)
    {
        if (ev.DedupKey is not { } key)
        {
            return null;
        }

        return await db.Events.AsNoTracking().FirstOrDefaultAsync(e => e.ProjectId == ev.ProjectId && e.DedupKey == key, cancellationToken);
    }

    private static async Task<bool> TryInsertAsync(ActionflowDbContext db, Event ev, IReadOnlyList<long> matchedActionIds, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Events.Add(ev);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ev.DedupKey is not null && DbErrors.IsUniqueViolation(ex))
        {
            // A concurrent delivery of the same event committed first.
            await transaction.RollbackAsync(cancellationToken);
            db.ChangeTracker.Clear();
            ev.Id = 0;
            return false;
        }

        await AddTriggersAsync(db, ev, matchedActionIds, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task AddTriggersAsync(ActionflowDbContext db, Event savedEvent, IReadOnlyList<long> actionIds, CancellationToken cancellationToken)
    {
        if (actionIds.Count == 0)
        {
            return;
        }

        db.OutboxMessages.AddRange(TriggerMessage.ToOutbox(savedEvent, actionIds, savedEvent.TimeCreated));
        await db.SaveChangesAsync(cancellationToken);
    }

    private static Task<ActionRun?> FindRunAsync(ActionflowDbContext db, RunClaimRequest request, CancellationToken cancellationToken) =>
        db.ActionRuns.AsNoTracking().FirstOrDefaultAsync(r => r.EventId == request.EventId && r.ActionId == request.ActionId, cancellationToken);

    private static async Task<ActionRun> CreateRunAsync(ActionflowDbContext db, RunClaimRequest request, (long Id, bool Canceled) workflowRun, CancellationToken cancellationToken)
    {
        // A step triggered after its workflow run was canceled (the trigger was already in flight) is recorded, not run.
        var run = new ActionRun
        {
            ProjectId = request.ProjectId,
            WorkflowId = request.WorkflowId,
            ActionId = request.ActionId,
            WorkflowRunId = workflowRun.Id,
            EventId = request.EventId,
            Kind = request.Kind,
            Status = workflowRun.Canceled ? ActionRunStatus.Canceled : ActionRunStatus.Pending,
            ErrorReason = workflowRun.Canceled ? "the workflow run was canceled" : null,
            FinishedAt = workflowRun.Canceled ? request.Now : null,
            Attempt = 0,
            TimeCreated = request.Now,
        };
        if (await InsertOrLoseRaceAsync(db, run, cancellationToken))
        {
            return run;
        }

        return await FindRunAsync(db, request, cancellationToken)
            ?? throw new InvalidOperationException($"action run ({request.EventId}, {request.ActionId}) violated its unique index but cannot be found");
    }

    private static async Task<(long Id, bool Canceled)> GetOrCreateWorkflowRunAsync(ActionflowDbContext db, RunClaimRequest request, CancellationToken cancellationToken)
    {
        if (request.EventWorkflowRunId is { } joined
            && await db.WorkflowRuns.Where(w => w.Id == joined && w.WorkflowId == request.WorkflowId).Select(w => (WorkflowRunStatus?)w.Status)
                .FirstOrDefaultAsync(cancellationToken) is { } joinedStatus)
        {
            return (joined, joinedStatus == WorkflowRunStatus.Canceled);
        }

        var existing = WorkflowRunOf(db, request);
        if (await existing.FirstOrDefaultAsync(cancellationToken) is { } found)
        {
            return (found.Id, found.Status == WorkflowRunStatus.Canceled);
        }

        var run = new WorkflowRun
        {
            ProjectId = request.ProjectId,
            WorkflowId = request.WorkflowId,
            RootEventId = request.EventId,
            Status = WorkflowRunStatus.Running,
            TimeCreated = request.Now,
            TimeUpdated = request.Now,
        };
        if (await InsertOrLoseRaceAsync(db, run, cancellationToken))
        {
            return (run.Id, false);
        }

        var raced = await existing.FirstOrDefaultAsync(cancellationToken)
            ?? throw new InvalidOperationException($"workflow run ({request.EventId}, {request.WorkflowId}) violated its unique index but cannot be found");
        return (raced.Id, raced.Status == WorkflowRunStatus.Canceled);
    }

    private static IQueryable<WorkflowRunRef?> WorkflowRunOf(ActionflowDbContext db, RunClaimRequest request) =>
        db.WorkflowRuns
            .Where(w => w.RootEventId == request.EventId && w.WorkflowId == request.WorkflowId)
            .Select(w => new WorkflowRunRef(w.Id, w.Status));

    private sealed record WorkflowRunRef(long Id, WorkflowRunStatus Status);

    /// <summary>
    /// Inserts inside the open transaction; false when a concurrent transaction inserted the same key first. EF wraps the
    /// save in a savepoint and rolls back to it on failure, so the transaction stays usable (PostgreSQL included).
    /// </summary>
    private static async Task<bool> InsertOrLoseRaceAsync<T>(ActionflowDbContext db, T entity, CancellationToken cancellationToken)
        where T : class
    {
        db.Add(entity);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException ex) when (DbErrors.IsUniqueViolation(ex))
        {
            db.ChangeTracker.Clear();
            return false;
        }
    }
}
