using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Query;
using Microsoft.Extensions.Logging;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The pipeline's durable state, shared by both providers: group commits (events accepted, runs claimed, runs ended),
/// claims, definitions reads, abandoned runs. The provider is chosen once, at registration
/// (<see cref="SqlitePipelineStore"/>, <see cref="PostgresPipelineStore"/>): each writes accepted events and ended runs its
/// own way, and renews leases its own way. Every run-state change goes through <see cref="RunLifecycle"/> (<see cref="RunRules"/>).
/// </summary>
public abstract class PipelineStore : IPipelineStore
{
    /// <summary>Items (events, claims, completions) written per transaction at most.</summary>
    public const int MaxBatch = 256;

    private const string CanceledWithWorkflowRun = "the workflow run was canceled";
    private static readonly TimeSpan RetryEarliness = TimeSpan.FromMilliseconds(50);
    private static readonly ILookup<long, ActionRun> NoRuns = Array.Empty<ActionRun>().ToLookup(r => r.EventId);
    private readonly GroupCommit<AcceptRequest, AcceptedEvent> _accepts;
    private readonly GroupCommit<PendingClaim, ClaimedRun?> _claims;
    private readonly GroupCommit<CompletionRequest, CompletionRecorded> _completions;
    private long _lastClaimTicks;

    private protected PipelineStore(IDbContextFactory<ActionflowDbContext> contextFactory, ILogger logger)
    {
        ContextFactory = contextFactory;
        _accepts = new GroupCommit<AcceptRequest, AcceptedEvent>("accepts", AcceptBatchAsync, AcceptOneAsync, MaxBatch,
            (count, ex) => StorageLog.BatchWrittenOneByOne(logger, count, "accepted events", ex));
        _claims = new GroupCommit<PendingClaim, ClaimedRun?>("claims", ClaimBatchAsync, ClaimBatchOfOneAsync, MaxBatch,
            (count, ex) => StorageLog.BatchWrittenOneByOne(logger, count, "claims", ex));
        _completions = new GroupCommit<CompletionRequest, CompletionRecorded>("completions", CompleteBatchAsync, CompleteOneAsync, MaxBatch,
            (count, ex) => StorageLog.BatchWrittenOneByOne(logger, count, "completions", ex));
    }

    private protected IDbContextFactory<ActionflowDbContext> ContextFactory { get; }

    public Task<AcceptedEvent> AcceptEventAsync(Event ev, IReadOnlyList<MatchedStep> matchedSteps, CancellationToken cancellationToken) =>
        AcceptEventAsync(ev, matchedSteps, null, cancellationToken);

    public Task<AcceptedEvent> AcceptEventAsync(Event ev, IReadOnlyList<MatchedStep> matchedSteps, QueueReceipt? receipt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(matchedSteps);
        return _accepts.SubmitAsync(new AcceptRequest(ev, matchedSteps, receipt), cancellationToken);
    }

    private async Task<AcceptedEvent> AcceptOneAsync(AcceptRequest request)
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
            await using var db = await ContextFactory.CreateDbContextAsync();
            var existing = await FindDuplicatesAsync(db, [request], CancellationToken.None);
            return existing.TryGetValue((request.Event.ProjectId, request.Event.DedupKey), out var known)
                ? new AcceptedEvent(known, false, [])
                : throw new InvalidOperationException($"event ({request.Event.ProjectId}, {request.Event.DedupKey}) violated the dedup index but cannot be found", ex);
        }
    }

    /// <summary>
    /// One transaction for many events: duplicates within the batch are answered by their first copy, known ones (as
    /// <see cref="KnownDuplicatesAsync"/> finds them) by the recorded event; the rest are written by <see cref="InsertAsync"/>.
    /// No savepoints: any failure rolls back the whole batch.
    /// </summary>
    private async Task<IReadOnlyList<AcceptedEvent>> AcceptBatchAsync(IReadOnlyList<AcceptRequest> batch)
    {
        var cancellationToken = CancellationToken.None;
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        db.Database.AutoSavepointsEnabled = false;
        var results = new AcceptedEvent[batch.Count];
        var known = await KnownDuplicatesAsync(db, batch, cancellationToken);
        var firstOfKey = new Dictionary<(long, string), int>(batch.Count);
        var sameAs = new Dictionary<int, int>();
        var inserts = new List<int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var ev = batch[i].Event;
            if (ev.DedupKey is { } key)
            {
                if (known.TryGetValue((ev.ProjectId, key), out var existing))
                {
                    results[i] = new AcceptedEvent(existing, false, []);
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
            await InsertAsync(db, batch, inserts, results, cancellationToken);
        }

        foreach (var (i, first) in sameAs)
        {
            results[i] = new AcceptedEvent(results[first].Event, false, []);
        }

        return results;
    }

    /// <summary>The batch's events already recorded, by (project, dedup key), when the provider looks them up before writing.</summary>
    private protected abstract Task<Dictionary<(long ProjectId, string DedupKey), Event>> KnownDuplicatesAsync(
        ActionflowDbContext db, IReadOnlyList<AcceptRequest> batch, CancellationToken cancellationToken);

    /// <summary>Writes the events at <paramref name="inserts"/> with their runs and triggers, and fills in their results.</summary>
    private protected abstract Task InsertAsync(
        ActionflowDbContext db, IReadOnlyList<AcceptRequest> batch, List<int> inserts, AcceptedEvent[] results, CancellationToken cancellationToken);

    private protected static async Task<Dictionary<(long ProjectId, string DedupKey), Event>> FindDuplicatesAsync(
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

    /// <param name="Receipt">The event's queue row, when the provider may delete it with the event's insert.</param>
    private protected sealed record AcceptRequest(Event Event, IReadOnlyList<MatchedStep> Steps, QueueReceipt? Receipt = null);

    public async Task<Event?> FindEventAsync(long eventId, CancellationToken cancellationToken)
    {
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        return await db.Events.AsNoTracking().FirstOrDefaultAsync(e => e.Id == eventId, cancellationToken);
    }

    public async Task<ActionSnapshot?> LoadActionAsync(long actionId, CancellationToken cancellationToken)
    {
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        var row = await (
                from a in db.Actions.AsNoTracking()
                join w in db.Workflows on a.WorkflowId equals w.Id into workflows
                from w in workflows.DefaultIfEmpty()
                where a.Id == actionId
                select new { Action = a, Active = (bool?)w.Active, Archived = (bool?)w.Archived, Limit = w.ConcurrencyLimit })
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
            StepOrder.HasNext(steps, action.Ordinal))
        {
            WorkflowConcurrencyLimit = row.Limit,
        };
    }

    public Task<ClaimedRun?> TryClaimPendingRunAsync(PendingClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return claim.RunId is null
            ? ClaimOneAsync(claim, cancellationToken)
            : _claims.SubmitAsync(claim with { Now = Microseconds(claim.Now), LeaseUntil = Microseconds(claim.LeaseUntil) }, cancellationToken);
    }

    /// <summary>A trigger without a run id (written before they carried one): claimed by its (event, action) key alone.</summary>
    private async Task<ClaimedRun?> ClaimOneAsync(PendingClaim claim, CancellationToken cancellationToken)
    {
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        var (eventId, actionId, now) = (claim.EventId, claim.ActionId, claim.Now);
        var dueBy = now + RetryEarliness;
        var claimed = await Claimable(db, db.ActionRuns.Where(r => r.EventId == eventId && r.ActionId == actionId), now, dueBy)
            .ExecuteUpdateAsync(ClaimedBy(claim.WorkerId, now, claim.LeaseUntil), cancellationToken);
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

    /// <summary>
    /// Claims the runs of many deliveries in two statements: one conditional update by run id, then one read of the
    /// runs this update gave to this worker (it stamps them with the batch's own start time), with their events.
    /// </summary>
    private async Task<IReadOnlyList<ClaimedRun?>> ClaimBatchAsync(IReadOnlyList<PendingClaim> batch)
    {
        var results = new ClaimedRun?[batch.Count];
        foreach (var group in batch.Select((claim, index) => (Claim: claim, Index: index)).GroupBy(x => x.Claim.WorkerId))
        {
            // A run delivered twice in one batch is claimed for its first copy only; the other finds it held by this worker.
            var first = group.DistinctBy(x => x.Claim.RunId).ToList();
            var ids = first.Select(x => x.Claim.RunId!.Value).ToArray();
            var eventIds = first.Select(x => x.Claim.EventId).Distinct().ToArray();
            var actionIds = first.Select(x => x.Claim.ActionId).Distinct().ToArray();
            var worker = group.Key;
            // The read below finds this batch's claims by (worker, started_at): each batch gets its own instant, strictly
            // after the previous batch's even when the clock has not moved (batches run one at a time per store).
            var now = new DateTime(Math.Max(first.Max(x => x.Claim.Now).Ticks, _lastClaimTicks + 10), DateTimeKind.Utc);
            _lastClaimTicks = now.Ticks;
            var leaseUntil = first.Max(x => x.Claim.LeaseUntil);
            var dueBy = now + RetryEarliness;

            await using var db = await ContextFactory.CreateDbContextAsync();
            var claimed = await Claimable(db, db.ActionRuns.Where(r => ids.Contains(r.Id) && eventIds.Contains(r.EventId) && actionIds.Contains(r.ActionId)), now, dueBy)
                .ExecuteUpdateAsync(ClaimedBy(worker, now, leaseUntil));
            if (claimed == 0)
            {
                continue;
            }

            var rows = await (
                    from r in db.ActionRuns.AsNoTracking()
                    join e in db.Events.AsNoTracking() on r.EventId equals e.Id
                    where ids.Contains(r.Id) && r.Status == ActionRunStatus.Running && r.WorkerId == worker && r.StartedAt == now
                    select new { Run = r, Event = e })
                .ToListAsync();
            var byId = rows.ToDictionary(x => x.Run.Id);
            foreach (var (claim, index) in first)
            {
                if (byId.TryGetValue(claim.RunId!.Value, out var row) && row.Run.EventId == claim.EventId && row.Run.ActionId == claim.ActionId)
                {
                    results[index] = new ClaimedRun(row.Run, row.Event);
                }
            }
        }

        return results;
    }

    private async Task<ClaimedRun?> ClaimBatchOfOneAsync(PendingClaim claim) => (await ClaimBatchAsync([claim]))[0];

    /// <summary>
    /// Runs a claim may take (<see cref="RunTransition.Start"/>: pending, or a retry that is due; <see cref="RunTransition.TakeOver"/>:
    /// running under an expired lease); never in a canceled workflow run.
    /// </summary>
    private static IQueryable<ActionRun> Claimable(ActionflowDbContext db, IQueryable<ActionRun> runs, DateTime now, DateTime dueBy) =>
        runs.Where(RunRules.Allowing(now, dueBy, null, RunTransition.Start, RunTransition.TakeOver))
            .Where(r => !db.WorkflowRuns.Any(w => w.Id == r.WorkflowRunId && w.Status == WorkflowRunStatus.Canceled));

    /// <summary>
    /// What a claim writes: running, for this worker, under a lease, with the attempt counted (not for a waiting run,
    /// whose attempt goes on: it resumes to complete, see <see cref="ActionRun.WaitedUntil"/>).
    /// </summary>
    private static Action<UpdateSettersBuilder<ActionRun>> ClaimedBy(string workerId, DateTime now, DateTime leaseUntil) =>
        s => s.SetProperty(r => r.Status, RunLifecycle.To(RunTransition.Start))
            .SetProperty(r => r.Attempt, r => r.Status == ActionRunStatus.Waiting ? r.Attempt : r.Attempt + 1)
            .SetProperty(r => r.StartedAt, now)
            .SetProperty(r => r.LeaseUntil, leaseUntil)
            .SetProperty(r => r.WorkerId, workerId)
            .SetProperty(r => r.NextAttemptAt, (DateTime?)null);

    /// <summary>PostgreSQL keeps microseconds: a time compared for equality after a round trip must not carry finer ticks.</summary>
    internal static DateTime Microseconds(DateTime value) => new(value.Ticks - (value.Ticks % 10), value.Kind);

    public async Task<RunClaim> ClaimRunAsync(RunClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
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
            .Where(r => r.Id == run.Id && db.WorkflowRuns.Any(w => w.Id == r.WorkflowRunId && w.Status == WorkflowRunStatus.Canceled))
            .Where(RunRules.Allowing(request.Now, request.Now, null, RunTransition.Cancel))
            .ExecuteUpdateAsync(RunRules.Canceled(CanceledWithWorkflowRun, request.Now), cancellationToken);
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

        // Retries and waits are due a little early too: the relay's wake-up and the clocks of two workers are not exact.
        var dueBy = now + RetryEarliness;
        if (run.Status is ActionRunStatus.Retrying or ActionRunStatus.Waiting && run.NextAttemptAt > dueBy)
        {
            await transaction.CommitAsync(cancellationToken);
            return new RunClaim(RunClaimState.NotDue, run);
        }

        // The WHERE re-checks the state: under read committed a concurrent claim that committed first makes this match nothing.
        var claimed = await Claimable(db, db.ActionRuns.Where(r => r.Id == run.Id), now, dueBy)
            .ExecuteUpdateAsync(ClaimedBy(request.WorkerId, now, request.LeaseUntil), cancellationToken);
        var current = await db.ActionRuns.AsNoTracking().SingleAsync(r => r.Id == run.Id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        var state = claimed == 1 ? RunClaimState.Claimed
            : current.Status.IsTerminal() ? RunClaimState.AlreadyTerminal
            : current.Status is ActionRunStatus.Retrying or ActionRunStatus.Waiting ? RunClaimState.NotDue
            : RunClaimState.HeldElsewhere;
        return new RunClaim(state, current);
    }

    public Task<CompletionRecorded> CompleteRunAsync(RunCompletion completion, Event? emitted, IReadOnlyList<MatchedStep> emittedMatches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentNullException.ThrowIfNull(emittedMatches);
        // A caller trying again after a failure passes the same objects: drop ids an earlier, rolled-back insert gave them.
        ResetIds(new CompletionRequest(completion, emitted, emittedMatches));
        return _completions.SubmitAsync(new CompletionRequest(completion, emitted, emittedMatches), cancellationToken);
    }

    private async Task<CompletionRecorded> CompleteOneAsync(CompletionRequest request)
    {
        // After a failed batch the new entities may carry ids from the rolled-back inserts.
        ResetIds(request);
        return (await CompleteBatchAsync([request]))[0];
    }

    private static void ResetIds(CompletionRequest request)
    {
        if (request.Emitted is { } emitted)
        {
            emitted.Id = 0;
        }

        if (request.Completion.Attempt is { } attempt)
        {
            attempt.Id = 0;
        }
    }

    /// <summary>Ends many runs in one transaction: the runs still held by their workers, with what their completions write.</summary>
    private protected abstract Task<IReadOnlyList<CompletionRecorded>> CompleteBatchAsync(IReadOnlyList<CompletionRequest> batch);

    private protected sealed record CompletionRequest(RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> EmittedMatches);

    public async Task<int> RequeueAbandonedRunsAsync(DateTime expiredBefore, DateTime now, int max, CancellationToken cancellationToken)
    {
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var requeue = RunRules.Allowing(expiredBefore, expiredBefore, null, RunTransition.Requeue);
        var abandoned = await db.ActionRuns.AsNoTracking()
            .Where(requeue)
            .OrderBy(r => r.LeaseUntil)
            .Take(max)
            .Select(r => new { r.Id, r.EventId, r.ActionId, r.ProjectId })
            .ToListAsync(cancellationToken);
        var requeued = 0;
        foreach (var run in abandoned)
        {
            // Conditional, so a worker that claimed it meanwhile keeps it.
            var changed = await db.ActionRuns
                .Where(r => r.Id == run.Id)
                .Where(requeue)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunLifecycle.To(RunTransition.Requeue)).SetProperty(r => r.LeaseUntil, (DateTime?)null), cancellationToken);
            if (changed == 1)
            {
                db.OutboxMessages.Add(new TriggerMessage(run.EventId, run.ActionId, run.ProjectId, run.Id).ToOutbox(now));
                requeued++;
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return requeued;
    }

    public abstract Task RenewLeasesAsync(IReadOnlyCollection<long> runIds, string workerId, DateTime leaseUntil, CancellationToken cancellationToken);

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
            ErrorReason = workflowRun.Canceled ? CanceledWithWorkflowRun : null,
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