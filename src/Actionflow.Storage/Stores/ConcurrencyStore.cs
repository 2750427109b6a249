using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.FlowControl;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

/// <summary>
/// Concurrency slots, decided per workflow under a lock no other worker holds at once (PostgreSQL: a transaction-scoped
/// advisory lock on the workflow, which a process's own decisions queue for in memory first; SQLite: one process, one
/// decision at a time, in an immediate transaction). Inside it
/// the runs holding slots (admitted and not ended) and the runs waiting for one (in arrival order: by id) are read, and
/// <see cref="ConcurrencyAdmission.Decide"/> says which go; every change is conditional on the state read, so a slot
/// is given once however many workers ask.
/// </summary>
public sealed class ConcurrencyStore(IDbContextFactory<ActionflowDbContext> contextFactory, StorageProvider provider, TimeProvider time)
    : IConcurrencyStore, IDisposable
{
    /// <summary>Waiting runs read per decision at most: the earliest, which are the ones a free slot goes to.</summary>
    public const int MaxWaiting = 1_000;

    // The first key of the two-key advisory lock: keeps workflows' slots apart from the windows' locks.
    private const int LockSpace = 0x41464331;

    private static readonly ActionRunStatus[] Open = [.. WorkflowRunLifecycle.OpenRuns];

    // PostgreSQL: one decision at a time per workflow in this process (others wait on the advisory lock);
    // SQLite (one process): one decision at a time.
    private const int Gates = 16;

    private readonly SemaphoreSlim[] _gates = [.. Enumerable.Range(0, Gates).Select(_ => new SemaphoreSlim(1, 1))];

    public Task<AdmissionResult> AdmitAsync(AdmissionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return LockedAsync(request.WorkflowId, request, null, UtcTime.Normalize(request.Now), cancellationToken);
    }

    public async Task<int> ReleaseAsync(long workflowId, SlotKey? freed, DateTime now, CancellationToken cancellationToken) =>
        (await LockedAsync(workflowId, null, freed, UtcTime.Normalize(now), cancellationToken)).Released;

    public async Task<int> SweepAsync(DateTime now, int maxWorkflows, CancellationToken cancellationToken)
    {
        List<long> workflows;
        await using (var db = await contextFactory.CreateDbContextAsync(cancellationToken))
        {
            workflows = await Waiting(db.ActionRuns.AsNoTracking()).Select(r => r.WorkflowId).Distinct().OrderBy(id => id).Take(maxWorkflows).ToListAsync(cancellationToken);
        }

        var released = 0;
        foreach (var workflowId in workflows)
        {
            released += await ReleaseAsync(workflowId, null, now, cancellationToken);
        }

        return released;
    }

    public void Dispose()
    {
        foreach (var gate in _gates)
        {
            gate.Dispose();
        }
    }

    /// <summary>Runs waiting for a slot: <c>waiting</c> with a key and no slot (a delay's waiting run has its slot).</summary>
    private static IQueryable<ActionRun> Waiting(IQueryable<ActionRun> runs) =>
        runs.Where(r => r.ConcurrencyKey != null && r.Status == ActionRunStatus.Waiting && r.AdmittedAt == null);

    private async Task<AdmissionResult> LockedAsync(long workflowId, AdmissionRequest? request, SlotKey? freed, DateTime now, CancellationToken cancellationToken)
    {
        // Decisions of one workflow wait here, holding no connection, rather than on the database lock: a burst of runs
        // waiting there would each hold a pooled connection and starve lease renewals and completions of theirs.
        var gate = _gates[provider == StorageProvider.Postgres ? (int)(((workflowId % Gates) + Gates) % Gates) : 0];
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await DecideAsync(workflowId, request, freed, now, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<AdmissionResult> DecideAsync(long workflowId, AdmissionRequest? request, SlotKey? freed, DateTime now, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (provider == StorageProvider.Postgres)
        {
            var lockKey = unchecked((int)(workflowId ^ (workflowId >> 32)));
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({LockSpace}, {lockKey})", cancellationToken);
        }

        long candidateStep = 0;
        if (request is not null)
        {
            var candidate = await db.ActionRuns.AsNoTracking()
                .Where(r => r.Id == request.RunId)
                .Select(r => new { r.Status, r.WorkerId, r.AdmittedAt, r.ActionId })
                .FirstOrDefaultAsync(cancellationToken);
            if (candidate is null || candidate.Status != ActionRunStatus.Running || candidate.WorkerId != request.WorkerId)
            {
                return new AdmissionResult(AdmissionState.NotHeld);
            }

            if (candidate.AdmittedAt is not null)
            {
                await transaction.CommitAsync(cancellationToken);
                return new AdmissionResult(AdmissionState.Admitted);
            }

            candidateStep = candidate.ActionId;
        }

        var workflowLimit = await db.Workflows.Where(w => w.Id == workflowId).Select(w => w.ConcurrencyLimit).FirstOrDefaultAsync(cancellationToken);
        // Without a workflow limit, keys are independent: only the asking run's key (or the freed one) is decided.
        var scope = workflowLimit is not null ? null : request is not null ? new SlotKey(candidateStep, request.Key) : freed;
        var inScope = db.ActionRuns.AsNoTracking().Where(r => r.WorkflowId == workflowId);
        if (scope is not null)
        {
            inScope = inScope.Where(r => r.ActionId == scope.ActionId && r.ConcurrencyKey == scope.Key);
        }

        var holders = await inScope
            .Where(r => r.ConcurrencyKey != null && Open.Contains(r.Status) && r.AdmittedAt != null)
            .GroupBy(r => new { r.ActionId, r.ConcurrencyKey })
            .Select(g => new { g.Key.ActionId, g.Key.ConcurrencyKey, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var waiting = await Waiting(inScope)
            .OrderBy(r => r.Id)
            .Take(MaxWaiting)
            .Select(r => new QueuedRun(r.Id, r.ActionId, r.ConcurrencyKey!, r.EventId, r.ProjectId))
            .ToListAsync(cancellationToken);
        if (request is not null)
        {
            waiting.Add(new QueuedRun(request.RunId, candidateStep, request.Key, 0, 0));
            waiting.Sort((x, y) => x.RunId.CompareTo(y.RunId));
        }

        if (waiting.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return new AdmissionResult(AdmissionState.Admitted);
        }

        var actionIds = waiting.Select(w => w.ActionId).Distinct().ToList();
        var stepLimits = await db.Actions.AsNoTracking()
            .Where(a => actionIds.Contains(a.Id))
            .Select(a => new { a.Id, a.ConcurrencyLimit })
            .ToDictionaryAsync(a => a.Id, a => a.ConcurrencyLimit, cancellationToken);
        var decision = ConcurrencyAdmission.Decide(
            new ConcurrencyLimits(null, AtLeastOne(workflowLimit)),
            holders.ToDictionary(h => Slot(h.ActionId, h.ConcurrencyKey!), h => h.Count, StringComparer.Ordinal),
            holders.Sum(h => h.Count),
            [.. waiting.Select(w => new WaitingRun(w.RunId, Slot(w.ActionId, w.Key))
            {
                KeyLimit = AtLeastOne(stepLimits.GetValueOrDefault(w.ActionId)),
                ShownKey = w.Key.Length == 0 ? $"(all runs of step {w.ActionId})" : w.Key,
            })]);

        // A slot's time is read once the slots are: after the end of the run that freed it, so a run's start (set here)
        // is never before its predecessor's finish, whichever worker's clock said when they asked.
        now = UtcTime.Normalize(time.GetUtcNow().UtcDateTime) is var read && read > now ? read : now;
        var result = new AdmissionResult(AdmissionState.Admitted, AdmittedAt: now);
        if (request is not null)
        {
            var admitted = decision.Admit.Contains(request.RunId);
            var reason = decision.Hold.FirstOrDefault(h => h.RunId == request.RunId)?.Reason;
            var mine = db.ActionRuns.Where(r => r.Id == request.RunId && r.Status == ActionRunStatus.Running && r.WorkerId == request.WorkerId);
            var changed = admitted
                ? await mine.ExecuteUpdateAsync(
                    s => s.SetProperty(r => r.AdmittedAt, now).SetProperty(r => r.StartedAt, now)
                        .SetProperty(r => r.ConcurrencyKey, request.Key).SetProperty(r => r.ErrorReason, (string?)null),
                    cancellationToken)
                : await mine.ExecuteUpdateAsync(
                    s => s.SetProperty(r => r.Status, RunLifecycle.To(RunTransition.Wait))
                        .SetProperty(r => r.ConcurrencyKey, request.Key)
                        .SetProperty(r => r.ErrorReason, reason)
                        .SetProperty(r => r.LeaseUntil, (DateTime?)null)
                        .SetProperty(r => r.NextAttemptAt, (DateTime?)null),
                    cancellationToken);
            if (changed != 1)
            {
                return new AdmissionResult(AdmissionState.NotHeld);
            }

            result = admitted ? result : new AdmissionResult(AdmissionState.Waits, reason);
        }

        var released = 0;
        foreach (var run in waiting.Where(w => w.RunId != request?.RunId && decision.Admit.Contains(w.RunId)))
        {
            // A waiting run admitted becomes due now: the claim of its trigger starts it (its attempt goes on).
            var changed = await Waiting(db.ActionRuns.Where(r => r.Id == run.RunId))
                .ExecuteUpdateAsync(
                    s => s.SetProperty(r => r.AdmittedAt, now).SetProperty(r => r.NextAttemptAt, now).SetProperty(r => r.ErrorReason, (string?)null),
                    cancellationToken);
            if (changed == 1)
            {
                db.OutboxMessages.Add(new TriggerMessage(run.EventId, run.ActionId, run.ProjectId, run.RunId).ToOutbox(now));
                released++;
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result with { Released = released };
    }

    private static string Slot(long actionId, string key) => $"{actionId}/{key}";

    private static int? AtLeastOne(int? limit) => limit is { } l ? Math.Max(1, l) : null;

    private sealed record QueuedRun(long RunId, long ActionId, string Key, long EventId, long ProjectId);
}
