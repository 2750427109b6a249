using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

public sealed class PipelineStore : IPipelineStore
{
    /// <summary>Events written per accept transaction at most.</summary>
    public const int MaxAcceptBatch = 256;

    private static readonly TimeSpan RetryEarliness = TimeSpan.FromMilliseconds(50);
    private readonly IDbContextFactory<ActionflowDbContext> contextFactory;
    private readonly GroupCommit<AcceptRequest, (Event Event, bool Inserted)> _accepts;

    public PipelineStore(IDbContextFactory<ActionflowDbContext> contextFactory)
    {
        this.contextFactory = contextFactory;
        _accepts = new GroupCommit<AcceptRequest, (Event, bool)>(AcceptBatchAsync, AcceptOneAsync, MaxAcceptBatch);
    }

    public Task<(Event Event, bool Inserted)> AcceptEventAsync(Event ev, IReadOnlyList<MatchedStep> matchedSteps, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(matchedSteps);
        return _accepts.SubmitAsync(new AcceptRequest(ev, matchedSteps), cancellationToken);
    }

    private async Task<(Event Event, bool Inserted)> AcceptOneAsync(AcceptRequest request)
    {
        // After a failed batch the entity may carry an id from the rolled-back insert.
        request.Event.Id = 0;
        try
        {
            return (await AcceptBatchAsync([request]))[0];
        }
        catch (DbUpdateException ex) when (request.Event.DedupKey is not null && DbErrors.IsUniqueViolation(ex))
        {
            // A concurrent delivery of the same event (to another worker) committed first.
            request.Event.Id = 0;
            await using var db = await contextFactory.CreateDbContextAsync();
            var existing = await FindDuplicatesAsync(db, [request], CancellationToken.None);
            return existing.TryGetValue((request.Event.ProjectId, request.Event.DedupKey), out var known)
                ? (known, false)
                : throw new InvalidOperationException($"event ({request.Event.ProjectId}, {request.Event.DedupKey}) violated the dedup index but cannot be found", ex);
        }
    }

    /// <summary>
    /// One transaction for many events: a read of the known dedup keys, then one insert each for the new events, their
    /// workflow runs, and their pending runs with trigger messages. No savepoints: any failure rolls back the whole batch.
    /// </summary>
    private async Task<IReadOnlyList<(Event Event, bool Inserted)>> AcceptBatchAsync(IReadOnlyList<AcceptRequest> batch)
    {
        var cancellationToken = CancellationToken.None;
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        db.Database.AutoSavepointsEnabled = false;
        var results = new (Event Event, bool Inserted)[batch.Count];
        var known = await FindDuplicatesAsync(db, batch, cancellationToken);
        var firstOfKey = new Dictionary<(long, string), int>();
        var sameAs = new Dictionary<int, int>();
        var inserts = new List<int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var ev = batch[i].Event;
            if (ev.DedupKey is { } key)
            {
                if (known.TryGetValue((ev.ProjectId, key), out var existing))
                {
                    results[i] = (existing, false);
                    continue;
                }

                if (firstOfKey.TryGetValue((ev.ProjectId, key), out var first))
                {
                    sameAs[i] = first;
                    continue;
                }

                firstOfKey[(ev.ProjectId, key)] = i;
            }

            inserts.Add(i);
        }

        if (inserts.Count > 0)
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            foreach (var i in inserts)
            {
                db.Events.Add(batch[i].Event);
            }

            await db.SaveChangesAsync(cancellationToken);
            if (inserts.Exists(i => batch[i].Steps.Count > 0))
            {
                await AddRunsAsync(db, inserts.Select(i => (batch[i].Event, batch[i].Steps)), cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            foreach (var i in inserts)
            {
                results[i] = (batch[i].Event, true);
            }
        }

        foreach (var (i, first) in sameAs)
        {
            results[i] = (batch[first].Event, false);
        }

        return results;
    }

    private static async Task<Dictionary<(long ProjectId, string DedupKey), Event>> FindDuplicatesAsync(
        ActionflowDbContext db, IReadOnlyList<AcceptRequest> batch, CancellationToken cancellationToken)
    {
        var keys = batch.Where(r => r.Event.DedupKey is not null).Select(r => r.Event.DedupKey!).Distinct().ToArray();
        if (keys.Length == 0)
        {
            return [];
        }

        var projects = batch.Select(r => r.Event.ProjectId).Distinct().ToArray();
        var found = await db.Events.AsNoTracking()
            .Where(e => keys.Contains(e.DedupKey!) && projects.Contains(e.ProjectId))
            .ToListAsync(cancellationToken);
        var byKey = new Dictionary<(long, string), Event>();
        foreach (var e in found)
        {
            byKey[(e.ProjectId, e.DedupKey!)] = e;
        }

        return byKey;
    }

    /// <summary>
    /// Records, per (saved) event and matched step, a pending action run and its trigger message. A step of the event's
    /// own workflow run joins it (the next step of a chain); any other starts a workflow run rooted at the event.
    /// </summary>
    private static async Task AddRunsAsync(ActionflowDbContext db, IEnumerable<(Event Event, IReadOnlyList<MatchedStep> Steps)> items, CancellationToken cancellationToken)
    {
        var pending = new List<(Event Event, MatchedStep Step, WorkflowRun? NewRun)>();
        var started = new Dictionary<(long EventId, long WorkflowId), WorkflowRun>();
        foreach (var (ev, steps) in items)
        {
            foreach (var step in steps)
            {
                WorkflowRun? newRun = null;
                var joins = ev.WorkflowRunId is not null && ev.WorkflowId == step.WorkflowId;
                if (!joins && !started.TryGetValue((ev.Id, step.WorkflowId), out newRun))
                {
                    newRun = new WorkflowRun
                    {
                        ProjectId = ev.ProjectId,
                        WorkflowId = step.WorkflowId,
                        RootEventId = ev.Id,
                        Status = WorkflowRunStatus.Running,
                        TimeCreated = ev.TimeCreated,
                        TimeUpdated = ev.TimeCreated,
                    };
                    started[(ev.Id, step.WorkflowId)] = newRun;
                    db.WorkflowRuns.Add(newRun);
                }

                pending.Add((ev, step, newRun));
            }
        }

        if (started.Count > 0)
        {
            await db.SaveChangesAsync(cancellationToken);
        }

        foreach (var (ev, step, newRun) in pending)
        {
            db.ActionRuns.Add(new ActionRun
            {
                ProjectId = ev.ProjectId,
                WorkflowId = step.WorkflowId,
                ActionId = step.ActionId,
                WorkflowRunId = newRun?.Id ?? ev.WorkflowRunId!.Value,
                EventId = ev.Id,
                Kind = step.Kind,
                Status = ActionRunStatus.Pending,
                Attempt = 0,
                TimeCreated = ev.TimeCreated,
            });
            db.OutboxMessages.Add(new OutboxMessage
            {
                Queue = QueueNames.ActionTriggers,
                Body = new TriggerMessage(ev.Id, step.ActionId, ev.ProjectId).ToBytes(),
                TimeCreated = ev.TimeCreated,
            });
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    private sealed record AcceptRequest(Event Event, IReadOnlyList<MatchedStep> Steps);

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

    public async Task<ClaimedRun?> TryClaimPendingRunAsync(long eventId, long actionId, string workerId, DateTime now, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        var dueBy = now + RetryEarliness;
        var claimed = await db.ActionRuns
            .Where(r => r.EventId == eventId && r.ActionId == actionId
                && (r.Status == ActionRunStatus.Pending
                    || (r.Status == ActionRunStatus.Retrying && (r.NextAttemptAt == null || r.NextAttemptAt <= dueBy))
                    || (r.Status == ActionRunStatus.Running && (r.LeaseUntil == null || r.LeaseUntil <= now)))
                && !db.WorkflowRuns.Any(w => w.Id == r.WorkflowRunId && w.Status == WorkflowRunStatus.Canceled))
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Status, ActionRunStatus.Running)
                    .SetProperty(r => r.Attempt, r => r.Attempt + 1)
                    .SetProperty(r => r.StartedAt, now)
                    .SetProperty(r => r.LeaseUntil, leaseUntil)
                    .SetProperty(r => r.WorkerId, workerId)
                    .SetProperty(r => r.NextAttemptAt, (DateTime?)null),
                cancellationToken);
        if (claimed == 0)
        {
            return null;
        }

        // Ours until the lease ends, so this read sees the claim just made.
        var row = await (
                from r in db.ActionRuns.AsNoTracking()
                join e in db.Events.AsNoTracking() on r.EventId equals e.Id
                where r.EventId == eventId && r.ActionId == actionId
                select new { Run = r, Event = e })
            .SingleAsync(cancellationToken);
        return new ClaimedRun(row.Run, row.Event);
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

        // Recorded pending before its workflow run was canceled (a chain's next step racing the cancel): never started.
        var canceled = await db.ActionRuns
            .Where(r => r.Id == run.Id && (r.Status == ActionRunStatus.Pending || r.Status == ActionRunStatus.Retrying)
                && db.WorkflowRuns.Any(w => w.Id == r.WorkflowRunId && w.Status == WorkflowRunStatus.Canceled))
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Status, ActionRunStatus.Canceled)
                    .SetProperty(r => r.ErrorReason, "the workflow run was canceled")
                    .SetProperty(r => r.FinishedAt, request.Now)
                    .SetProperty(r => r.NextAttemptAt, (DateTime?)null),
                cancellationToken);
        if (canceled == 1)
        {
            var ended = await db.ActionRuns.AsNoTracking().SingleAsync(r => r.Id == run.Id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new RunClaim(RunClaimState.AlreadyTerminal, ended);
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

    public async Task<bool> CompleteRunAsync(RunCompletion completion, Event? emitted, IReadOnlyList<MatchedStep> emittedMatches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentNullException.ThrowIfNull(emittedMatches);
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        // One transaction, no savepoints: nothing in it is expected to fail alone.
        db.Database.AutoSavepointsEnabled = false;
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
                    .SetProperty(r => r.LeaseUntil, (DateTime?)null)
                    .SetProperty(r => r.NextAttemptAt, completion.RetryAt),
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
        }

        if (completion.RetryAt is { } retryAt)
        {
            // The next attempt's trigger, hidden until it is due; committed with the failed attempt, so a crash loses neither.
            var run = await db.ActionRuns.AsNoTracking()
                .Where(r => r.Id == completion.RunId)
                .Select(r => new { r.EventId, r.ActionId, r.ProjectId })
                .SingleAsync(cancellationToken);
            db.OutboxMessages.Add(new OutboxMessage
            {
                Queue = QueueNames.ActionTriggers,
                Body = new TriggerMessage(run.EventId, run.ActionId, run.ProjectId).ToBytes(),
                TimeCreated = finishedAt,
                AvailableAt = retryAt,
            });
        }

        if (emitted is not null)
        {
            db.Events.Add(emitted);
        }

        await db.SaveChangesAsync(cancellationToken);
        if (emitted is not null && emittedMatches.Count > 0)
        {
            await AddRunsAsync(db, [(emitted, emittedMatches)], cancellationToken);
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
