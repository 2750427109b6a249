using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;

namespace Actionflow.Core.Abstractions;

/// <summary>A fire written by <see cref="IScheduleStore.FireDueAsync"/>.</summary>
/// <param name="EventId">Its <c>time_trigger</c> event.</param>
/// <param name="Ticks">The missed ticks it stands for (catch-up <c>once</c>), else 1.</param>
public sealed record ScheduleFired(long ActionId, long ProjectId, long WorkflowId, DateTime ScheduledAt, DateTime FiredAt, long EventId, int Ticks);

/// <summary>What one pass over the due schedules did.</summary>
/// <param name="Claimed">Schedules claimed (due, and held by no other worker).</param>
/// <param name="Stopped">Schedules whose stored expression no longer parses, with why (they stop firing).</param>
public sealed record SchedulePass(int Claimed, IReadOnlyList<ScheduleFired> Fired, int Dropped, IReadOnlyList<(long ActionId, string Problem)> Stopped)
{
    public static SchedulePass Empty { get; } = new(0, [], 0, []);
}

/// <summary>The schedules of steps triggered by <c>time_trigger</c>, and their fires.</summary>
public interface IScheduleStore
{
    /// <summary>
    /// Claims up to <paramref name="max"/> schedules due at <paramref name="now"/> that no other worker holds (PostgreSQL:
    /// <c>FOR UPDATE SKIP LOCKED</c>; SQLite: one writer and a conditional update), and in the same transaction writes what
    /// <paramref name="plan"/> decides for each: its <c>time_trigger</c> events, a pending run of the scheduled step for
    /// each (with its trigger), and the next due time. Two workers never both fire one tick.
    /// </summary>
    Task<SchedulePass> FireDueAsync(DateTime now, int max, Func<Schedule, ScheduleFirePlan> plan, CancellationToken cancellationToken);

    /// <summary>The earliest next due time of any schedule; null when none is scheduled.</summary>
    Task<DateTime?> NextDueAsync(CancellationToken cancellationToken);
}

/// <summary>A windowed step as the window processor needs it: its window and what its runs are recorded with.</summary>
public sealed record WindowedStep(WindowConfig Config, long WorkflowId, string Kind);

/// <summary>What one pass over the windows did.</summary>
public sealed record WindowPass(int Keys, int Entries, int Runs, int Skipped)
{
    public static WindowPass Empty { get; } = new(0, 0, 0, 0);
}

/// <summary>The windows of steps with <c>trigger_data.window</c>: one row per step and key, fed by window entries.</summary>
public interface IWindowStore
{
    /// <summary>
    /// Takes up to <paramref name="maxKeys"/> keys with new entries or a window due by <paramref name="now"/>, each under a
    /// lock no other worker can hold at once, and in one transaction folds them (<see cref="WindowFold"/>): the windows'
    /// new states (a conditional update on their version), the entries consumed, the events and pending runs (with
    /// triggers) of the windows that closed, and a skipped run, with its reason, for each event left out.
    /// <paramref name="stepOf"/> gives the step's window (null: the step has none now: its entries and windows are dropped).
    /// </summary>
    Task<WindowPass> ProcessAsync(DateTime now, int maxKeys, Func<long, WindowedStep?> stepOf, CancellationToken cancellationToken);

    /// <summary>When the earliest open window closes by time; null when none will.</summary>
    Task<DateTime?> NextCloseAsync(CancellationToken cancellationToken);
}
