using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

/// <summary>
/// Fires due schedules. PostgreSQL: the due rows are claimed <c>FOR UPDATE SKIP LOCKED</c>, so concurrent workers take
/// disjoint rows and a row is never fired by two; SQLite (one process, one writer): the claim is a write transaction
/// from its first statement, and the rows are updated only if their next due time is still the one read (it is the
/// row's concurrency token). Either way the claim, the fire's events, their runs and triggers, and the next due time
/// commit together.
/// </summary>
public sealed class ScheduleStore : IScheduleStore
{
    private readonly IDbContextFactory<ActionflowDbContext> _contextFactory;
    private readonly Func<ActionflowDbContext, DateTime, int, CancellationToken, Task<List<Schedule>>> _claim;

    public ScheduleStore(IDbContextFactory<ActionflowDbContext> contextFactory, StorageProvider provider)
    {
        _contextFactory = contextFactory;
        _claim = provider == StorageProvider.Postgres ? ClaimPostgresAsync : ClaimSqliteAsync;
    }

    public async Task<SchedulePass> FireDueAsync(DateTime now, int max, Func<Schedule, ScheduleFirePlan> plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        // SQLite: a write transaction from its first statement (BEGIN IMMEDIATE), so what is read below is not changed by anyone else before it commits.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var due = await _claim(db, UtcTime.Normalize(now), max, cancellationToken);
        if (due.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return SchedulePass.Empty;
        }

        var stopped = new List<(long, string)>();
        var fires = new List<(Schedule Schedule, Event Event, ScheduledFire Fire)>();
        var dropped = 0;
        foreach (var schedule in due)
        {
            var decided = plan(schedule);
            if (decided.Problem is { } problem)
            {
                stopped.Add((schedule.ActionId, problem));
            }

            fires.AddRange(decided.Events.Select((e, i) => (schedule, e, decided.Fires[i])));
            dropped += decided.Dropped;
            schedule.NextDueAt = decided.NextDue;
            schedule.DroppedTicks += decided.Dropped;
            schedule.TimeUpdated = now;
            if (decided.Fires.Count > 0)
            {
                schedule.LastScheduledAt = decided.Fires[^1].ScheduledAt.UtcDateTime;
                schedule.LastFiredAt = now;
            }
        }

        // Belt and braces: a tick's event is unique per step; one that exists already is not written twice.
        var keys = fires.Select(f => f.Event.DedupKey!).ToArray();
        var known = keys.Length == 0 ? [] : (await db.Events.AsNoTracking().Where(e => e.DedupKey != null && keys.Contains(e.DedupKey)).Select(e => e.DedupKey!).ToListAsync(cancellationToken)).ToHashSet();
        fires.RemoveAll(f => known.Contains(f.Event.DedupKey!));
        db.Events.AddRange(fires.Select(f => f.Event));
        // One save for the events and one for the claimed rows' new due times: EF sends each as batched statements.
        await db.SaveChangesAsync(cancellationToken);
        foreach (var group in fires.GroupBy(f => f.Schedule))
        {
            group.Key.LastEventId = group.Max(f => f.Event.Id);
        }

        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
        await RunRows.AddAsync(db, [.. fires.Select(f => (f.Event, (IReadOnlyList<MatchedStep>)[new MatchedStep(f.Schedule.ActionId, f.Schedule.WorkflowId, f.Schedule.Kind)]))], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        var fired = fires.Select(f => new ScheduleFired(f.Schedule.ActionId, f.Schedule.ProjectId, f.Schedule.WorkflowId, f.Fire.ScheduledAt.UtcDateTime, now, f.Event.Id, f.Fire.Ticks)).ToList();
        return new SchedulePass(due.Count, fired, dropped, stopped);
    }

    public async Task<DateTime?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var db = await _contextFactory.CreateDbContextAsync(cancellationToken);
        return await db.Schedules.MinAsync(s => s.NextDueAt, cancellationToken);
    }

    private static Task<List<Schedule>> ClaimPostgresAsync(ActionflowDbContext db, DateTime now, int max, CancellationToken cancellationToken) =>
        // Row locks until commit: a concurrent worker skips these rows and takes the next due ones.
        db.Schedules
            .FromSql($"SELECT * FROM schedules WHERE next_due_at <= {now} ORDER BY next_due_at LIMIT {max} FOR UPDATE SKIP LOCKED")
            .ToListAsync(cancellationToken);

    private static Task<List<Schedule>> ClaimSqliteAsync(ActionflowDbContext db, DateTime now, int max, CancellationToken cancellationToken) =>
        db.Schedules.Where(s => s.NextDueAt <= now).OrderBy(s => s.NextDueAt).Take(max).ToListAsync(cancellationToken);
}
