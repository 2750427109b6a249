using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The rows that matched steps add, inside the caller's transaction, for a schedule's fire and a window's run (the
/// accept path's rows, at their lower rates). On PostgreSQL they are written through EF here (its hot accept is one
/// statement of <see cref="PostgresPipelineWrites"/>); on SQLite through <see cref="SqlitePipelineWrites.AddRuns"/>, the
/// same writer as every accepted event's, so each provider has one way to write a run.
/// </summary>
internal static class RunRows
{
    private static readonly ILookup<long, ActionRun> NoRuns = Array.Empty<ActionRun>().ToLookup(r => r.EventId);

    /// <summary>
    /// Records, per (saved) event and matched step, a pending action run and its trigger message, or for a step marked
    /// <see cref="MatchedStep.HeldBy"/> a run held by the caller and no trigger, or for a windowed step a window entry.
    /// A step of the event's own workflow run joins it (the next step of a chain); any other starts a workflow run
    /// rooted at the event. Returns the held runs by event id.
    /// </summary>
    public static async Task<ILookup<long, ActionRun>> AddAsync(ActionflowDbContext db, IReadOnlyList<(Event Event, IReadOnlyList<MatchedStep> Steps)> items, CancellationToken cancellationToken)
    {
        if (db.Provider == StorageProvider.Sqlite)
        {
            // What the caller still tracks goes first, as EF would have saved it with the runs.
            await SaveAndForgetAsync(db, cancellationToken);
            using var writes = SqlitePipelineWrites.In(db);
            return writes.AddRuns(items);
        }

        var plan = RunPlan.For(items);
        plan.SetRoots();
        if (plan.Windowed.Count > 0)
        {
            db.WindowEntries.AddRange(plan.CreateEntries());
        }

        if (plan.NewWorkflowRuns.Count > 0)
        {
            db.WorkflowRuns.AddRange(plan.NewWorkflowRuns);
            await SaveAndForgetAsync(db, cancellationToken);
        }

        if (plan.StepCount == 0)
        {
            await SaveAndForgetAsync(db, cancellationToken);
            return NoRuns;
        }

        var runs = plan.CreateRuns(_ => 0);
        db.ActionRuns.AddRange(runs);
        await SaveAndForgetAsync(db, cancellationToken);
        var pending = runs.Where(r => r.Status == ActionRunStatus.Pending).ToList();
        if (pending.Count > 0)
        {
            // The run id lets the actions consumer claim runs of many deliveries in one statement.
            db.OutboxMessages.AddRange(pending.Select(run => new TriggerMessage(run.EventId, run.ActionId, run.ProjectId, run.Id).ToOutbox(run.TimeCreated)));
            await SaveAndForgetAsync(db, cancellationToken);
        }

        return runs.Where(r => r.Status == ActionRunStatus.Running).ToLookup(r => r.EventId);
    }

    /// <summary>
    /// Records a step that did not run for an event (a window left it out) as a skipped run with the reason: in the
    /// event's own workflow run when it is of the step's workflow, else in the workflow run the event started in it
    /// (found, or made now as skipped). Runs that exist already are left alone.
    /// </summary>
    public static async Task AddSkippedAsync(
        ActionflowDbContext db, IReadOnlyList<(Event Event, MatchedStep Step, string Reason)> skipped, DateTime now, CancellationToken cancellationToken)
    {
        if (skipped.Count == 0)
        {
            return;
        }

        var eventIds = skipped.Select(s => s.Event.Id).Distinct().ToArray();
        var actionIds = skipped.Select(s => s.Step.ActionId).Distinct().ToArray();
        var existing = (await db.ActionRuns.AsNoTracking()
                .Where(r => eventIds.Contains(r.EventId) && actionIds.Contains(r.ActionId))
                .Select(r => new { r.EventId, r.ActionId })
                .ToListAsync(cancellationToken))
            .Select(r => (r.EventId, r.ActionId))
            .ToHashSet();
        var rooted = (await db.WorkflowRuns.AsNoTracking()
                .Where(w => eventIds.Contains(w.RootEventId))
                .Select(w => new { w.Id, w.RootEventId, w.WorkflowId })
                .ToListAsync(cancellationToken))
            .ToDictionary(w => (w.RootEventId, w.WorkflowId), w => w.Id);

        var created = new Dictionary<(long EventId, long WorkflowId), WorkflowRun>();
        var rows = new List<(ActionRun Run, WorkflowRun? Started)>();
        foreach (var (ev, step, reason) in skipped)
        {
            if (!existing.Add((ev.Id, step.ActionId)))
            {
                continue;
            }

            long? workflowRunId = ev.WorkflowRunId is { } own && ev.WorkflowId == step.WorkflowId ? own
                : rooted.TryGetValue((ev.Id, step.WorkflowId), out var found) ? found
                : null;
            WorkflowRun? started = null;
            if (workflowRunId is null && !created.TryGetValue((ev.Id, step.WorkflowId), out started))
            {
                started = new WorkflowRun
                {
                    ProjectId = ev.ProjectId,
                    WorkflowId = step.WorkflowId,
                    RootEventId = ev.Id,
                    Status = WorkflowRunStatus.Skipped,
                    StatusDescription = reason,
                    TimeCreated = now,
                    TimeUpdated = now,
                };
                created[(ev.Id, step.WorkflowId)] = started;
                db.WorkflowRuns.Add(started);
            }

            rows.Add((new ActionRun
            {
                ProjectId = ev.ProjectId,
                WorkflowId = step.WorkflowId,
                ActionId = step.ActionId,
                WorkflowRunId = workflowRunId ?? 0,
                EventId = ev.Id,
                Kind = step.Kind,
                Status = ActionRunStatus.Skipped,
                ErrorReason = reason,
                TimeCreated = now,
                FinishedAt = now,
            }, workflowRunId is null ? started : null));
        }

        if (created.Count > 0)
        {
            await SaveAndForgetAsync(db, cancellationToken);
        }

        foreach (var (run, started) in rows)
        {
            if (started is not null)
            {
                run.WorkflowRunId = started.Id;
            }

            db.ActionRuns.Add(run);
        }

        await SaveAndForgetAsync(db, cancellationToken);
    }

    /// <summary>
    /// Saves, then stops tracking what was saved (generated ids stay on the objects): the next save of the same batch
    /// then compares nothing it already wrote (JSON columns are compared by serializing them).
    /// </summary>
    public static async Task SaveAndForgetAsync(ActionflowDbContext db, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
    }
}
