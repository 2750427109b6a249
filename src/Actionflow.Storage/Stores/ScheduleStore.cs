using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

/// <summary>
/// Fires due schedules. PostgreSQL: the due rows are claimed <c>FOR UPDATE SKIP LOCKED</c>, so concurrent workers take
/// disjoint rows and a row is never fired by two; SQLite (one process, one writer): each row is moved on by a
/// conditional update on the due time it was read with. Either way the claim, the fire's events, their runs and
/// triggers, and the next due time commit together.
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
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var due = await _claim(db, UtcTime.Normalize(now), max, cancellationToken);
        if (due.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return SchedulePass.Empty;
        }

        var stopped = new List<(long, string)>();
        var fires = new List<(Schedule Schedule, ScheduleFirePlan Plan)>();
        var dropped = 0;
        foreach (var schedule in due)
        {
            var decided = plan(schedule);
            if (decided.Problem is { } problem)
            {
                stopped.Add((schedule.ActionId, problem));
            }

            // Conditional on the due time this worker read: a row moved on by anyone else meanwhile is not fired again.
            var readDue = schedule.NextDueAt;
            var last = decided.Fires.Count > 0 ? decided.Fires[^1].ScheduledAt.UtcDateTime : schedule.LastScheduledAt;
            var moved = await db.Schedules
                .Where(s => s.ActionId == schedule.ActionId && s.NextDueAt == readDue)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(x => x.NextDueAt, decided.NextDue)
                    .SetProperty(x => x.LastScheduledAt, last)
                    .SetProperty(x => x.LastFiredAt, decided.Events.Count > 0 ? now : schedule.LastFiredAt)
                    .SetProperty(x => x.DroppedTicks, x => x.DroppedTicks + decided.Dropped)
                    .SetProperty(x => x.TimeUpdated, now), cancellationToken);
            if (moved == 1)
            {
                fires.Add((schedule, decided));
                dropped += decided.Dropped;
            }
        }

        var events = fires.SelectMany(f => f.Plan.Events.Select((e, i) => (f.Schedule, Event: e, Fire: f.Plan.Fires[i]))).ToList();
        // Belt and braces: a tick's event is unique per step; one that exists already is not written twice.
        var keys = events.Select(e => e.Event.DedupKey!).ToArray();
        var known = keys.Length == 0 ? [] : (await db.Events.AsNoTracking().Where(e => e.DedupKey != null && keys.Contains(e.DedupKey)).Select(e => e.DedupKey!).ToListAsync(cancellationToken)).ToHashSet();
        events.RemoveAll(e => known.Contains(e.Event.DedupKey!));
        db.Events.AddRange(events.Select(e => e.Event));
        await RunRows.SaveAndForgetAsync(db, cancellationToken);
        await RunRows.AddAsync(db, events.Select(e => (e.Event, (IReadOnlyList<MatchedStep>)[new MatchedStep(e.Schedule.ActionId, e.Schedule.WorkflowId, e.Schedule.Kind)])), cancellationToken);
        foreach (var group in events.GroupBy(e => e.Schedule.ActionId))
        {
            var lastEvent = group.Max(e => e.Event.Id);
            await db.Schedules.Where(s => s.ActionId == group.Key).ExecuteUpdateAsync(s => s.SetProperty(x => x.LastEventId, lastEvent), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        var fired = events.Select(e => new ScheduleFired(e.Schedule.ActionId, e.Schedule.ProjectId, e.Schedule.WorkflowId, e.Fire.ScheduledAt.UtcDateTime, now, e.Event.Id, e.Fire.Ticks)).ToList();
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
            .AsNoTracking()
            .ToListAsync(cancellationToken);

    private static Task<List<Schedule>> ClaimSqliteAsync(ActionflowDbContext db, DateTime now, int max, CancellationToken cancellationToken) =>
        db.Schedules.AsNoTracking().Where(s => s.NextDueAt <= now).OrderBy(s => s.NextDueAt).Take(max).ToListAsync(cancellationToken);
}
