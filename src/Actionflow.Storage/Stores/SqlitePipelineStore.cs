using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The pipeline on SQLite (the embedded default), one writer at a time: reads through EF, the hot writes (accepted
/// events, runs, triggers, ended runs, workflow-run settlement) as raw prepared statements (<see cref="SqlitePipelineWrites"/>).
/// </summary>
public sealed class SqlitePipelineStore(IDbContextFactory<ActionflowDbContext> contextFactory, SqliteWriteGate gate, ILogger<SqlitePipelineStore> logger)
    : PipelineStore(contextFactory, logger)
{
    private static readonly ILookup<long, ActionRun> NoRuns = Array.Empty<ActionRun>().ToLookup(r => r.EventId);

    private protected override Task<Dictionary<(long ProjectId, string DedupKey), Event>> KnownDuplicatesAsync(
        ActionflowDbContext db, IReadOnlyList<AcceptRequest> batch, CancellationToken cancellationToken) =>
        FindDuplicatesAsync(db, batch, cancellationToken);

    /// <summary>
    /// One insert each for the new events, their workflow runs, and their runs with trigger messages; and one delete for
    /// the embedded queue's rows that delivered them (their ack, in the same transaction: committed, the event is recorded
    /// and its message gone; rolled back, neither, and the message is delivered again).
    /// </summary>
    private protected override async Task InsertAsync(
        ActionflowDbContext db, IReadOnlyList<AcceptRequest> batch, List<int> inserts, AcceptedEvent[] results, CancellationToken cancellationToken)
    {
        using var turn = await gate.EnterAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        ILookup<long, ActionRun> held;
        List<QueueReceipt>? consumed = null;
        using (var writes = SqlitePipelineWrites.In(db))
        {
            foreach (var i in inserts)
            {
                writes.InsertEvent(batch[i].Event);
                if (batch[i].Receipt is { } receipt)
                {
                    (consumed ??= []).Add(receipt);
                }
            }

            held = inserts.Exists(i => batch[i].Steps.Count > 0)
                ? writes.AddRuns([.. inserts.Select(i => (batch[i].Event, batch[i].Steps))])
                : NoRuns;
        }

        if (consumed is not null)
        {
            EmbeddedQueueStore.DeleteInTransaction(db, consumed);
        }

        await transaction.CommitAsync(cancellationToken);
        consumed?.ForEach(receipt => receipt.MarkConsumed());
        foreach (var i in inserts)
        {
            results[i] = new AcceptedEvent(batch[i].Event, true, [.. held[batch[i].Event.Id]]);
        }
    }


    /// <summary>
    /// The runs still held by their workers are read in one statement (SQLite has one writer: nothing else changes them
    /// meanwhile), then their outcomes, attempts, emitted events and retry triggers are written in one batch, the next
    /// steps' runs and triggers in two more, and the workflow runs that settle, one statement per status.
    /// </summary>
    private protected override async Task<IReadOnlyList<CompletionRecorded>> CompleteBatchAsync(IReadOnlyList<CompletionRequest> batch)
    {
        var cancellationToken = CancellationToken.None;
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        var results = new CompletionRecorded[batch.Count];
        Array.Fill(results, CompletionRecorded.NotHeld);
        // No savepoints: nothing in it is expected to fail alone, and any failure rolls back the whole batch.
        db.Database.AutoSavepointsEnabled = false;
        using var turn = await gate.EnterAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        using var writes = SqlitePipelineWrites.In(db);

        var ids = batch.Select(r => r.Completion.RunId).Distinct().ToArray();
        var endable = RunLifecycle.From(RunTransition.Succeed);
        var held = await db.ActionRuns.AsNoTracking().Where(r => ids.Contains(r.Id) && endable.Contains(r.Status)).ToDictionaryAsync(r => r.Id, cancellationToken);

        var ended = new List<(CompletionRequest Request, ActionRun Run)>();
        var failedByJoin = new HashSet<long>();
        for (var i = 0; i < batch.Count; i++)
        {
            var (completion, emitted, _) = batch[i];
            if (!held.Remove(completion.RunId, out var run)
                || !RunLifecycle.Check(run.Status, RunLifecycle.Ending(completion.Status), new RunFacts(HeldByCaller: run.WorkerId == completion.WorkerId)).Allowed)
            {
                continue;
            }

            results[i] = new CompletionRecorded(true, []);
            ended.Add((batch[i], run));
            RunLifecycle.Apply(run, RunLifecycle.Ending(completion.Status), new RunFacts(HeldByCaller: true));
            run.Output = completion.Output;
            run.ErrorReason = completion.ErrorReason;
            run.ErrorType = completion.ErrorType;
            // A waiting run has not finished: it finishes when its wait ends.
            run.FinishedAt = completion.Status == ActionRunStatus.Waiting ? null : completion.FinishedAt;
            run.NextAttemptAt = completion.NextAttemptAt;
            if (completion.Status == ActionRunStatus.Waiting)
            {
                run.WaitedUntil = completion.NextAttemptAt;
            }
            writes.UpdateActionRun(run);
            if (completion.Attempt is { } attempt)
            {
                attempt.ActionRunId = completion.RunId;
                writes.InsertAttempt(attempt);
            }

            if (completion.NextAttemptAt is { } nextAt)
            {
                // The next attempt's (or the wait's end) trigger, hidden until it is due; committed with the attempt, so a crash loses neither.
                writes.InsertOutbox(new TriggerMessage(run.EventId, run.ActionId, run.ProjectId, run.Id).ToOutbox(completion.FinishedAt, nextAt));
            }

            if (emitted is not null)
            {
                // Joins first: a join that runs carries its predecessors' outputs in the event, written just below.
                var matches = await JoinArrivals.ApplyAsync(db, run.ProjectId, run.WorkflowRunId, emitted, batch[i].EmittedMatches, completion.FinishedAt, cancellationToken);
                if (!ReferenceEquals(matches, batch[i].EmittedMatches))
                {
                    ended[^1] = (batch[i] with { EmittedMatches = matches }, run);
                    if (matches.Any(m => m.FailReason is not null))
                    {
                        failedByJoin.Add(run.WorkflowRunId);
                    }
                }

                writes.InsertEvent(emitted);
            }
        }

        if (ended.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return results;
        }

        if (db.ChangeTracker.HasChanges())
        {
            // The joins' states (JoinArrivals works on tracked rows).
            await RunRows.SaveAndForgetAsync(db, cancellationToken);
        }

        var next = ended.Where(e => e.Request.Emitted is not null && e.Request.EmittedMatches.Count > 0).ToList();
        var heldNext = next.Count > 0 ? writes.AddRuns([.. next.Select(e => (e.Request.Emitted!, e.Request.EmittedMatches))]) : NoRuns;

        var settling = WorkflowRunLifecycle.From(WorkflowRunTransition.Settle);
        var open = WorkflowRunLifecycle.OpenRuns.ToArray();
        foreach (var group in ended.Where(e => e.Request.Completion.WorkflowRunStatus is not null).GroupBy(e => e.Request.Completion.WorkflowRunStatus!.Value))
        {
            var status = group.Key;
            var workflowRunIds = group.Select(e => e.Run.WorkflowRunId).Distinct().ToArray();
            var at = group.Max(e => e.Request.Completion.FinishedAt);
            // With AfterAllBranches, only once no branch is still open (SQLite has one writer: no sibling can commit meanwhile).
            writes.SettleWorkflowRuns(workflowRunIds, status, at, settling, WorkflowRunLifecycle.AfterAllBranches.Contains(status), open);
        }

        if (failedByJoin.Count > 0)
        {
            // A join recorded failed fails its workflow run, as a failed step does.
            var at = ended.Max(e => e.Request.Completion.FinishedAt);
            writes.SettleWorkflowRuns(failedByJoin, WorkflowRunStatus.Failed, at, settling, afterAllBranches: false, open);
        }

        await transaction.CommitAsync(cancellationToken);
        for (var i = 0; i < batch.Count; i++)
        {
            if (results[i].Recorded && batch[i].Emitted is { } emitted && heldNext.Contains(emitted.Id))
            {
                results[i] = new CompletionRecorded(true, [.. heldNext[emitted.Id]]);
            }
        }

        return results;
    }

    public override async Task RenewLeasesAsync(IReadOnlyCollection<long> runIds, string workerId, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        if (runIds.Count == 0)
        {
            return;
        }

        var ids = runIds.ToArray();
        await using var db = await ContextFactory.CreateDbContextAsync(cancellationToken);
        await db.ActionRuns
            .Where(r => ids.Contains(r.Id) && r.WorkerId == workerId && r.Status == ActionRunStatus.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.LeaseUntil, leaseUntil), cancellationToken);
    }
}
