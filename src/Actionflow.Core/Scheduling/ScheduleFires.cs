using System.Globalization;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;
using Actionflow.Sdk;

namespace Actionflow.Core.Scheduling;

/// <summary>What claiming a due schedule writes: its <c>time_trigger</c> events (oldest first), its next due time, the ticks dropped.</summary>
/// <param name="Problem">Set when the stored expression no longer parses: nothing fires and the schedule stops.</param>
public sealed record ScheduleFirePlan(IReadOnlyList<Event> Events, IReadOnlyList<ScheduledFire> Fires, DateTime? NextDue, int Dropped, string? Problem = null);

/// <summary>Turns a claimed schedule into its fires, with no I/O: the catch-up decision (<see cref="CatchUp.Decide"/>) and the events it writes.</summary>
public static class ScheduleFires
{
    /// <summary>Where a fire's times are in the event: <c>extra_metadata.scheduled_at</c>, <c>extra_metadata.fired_at</c>.</summary>
    public const string ScheduledAtKey = "scheduled_at";
    public const string FiredAtKey = "fired_at";

    /// <param name="misfireThreshold">A tick fired within this of its time is on time under every policy (<see cref="CatchUpSettings.MisfireThreshold"/>).</param>
    public static ScheduleFirePlan Plan(Schedule schedule, DateTime now, TimeSpan misfireThreshold)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (schedule.NextDueAt is not { } due)
        {
            return new ScheduleFirePlan([], [], null, 0);
        }

        var cron = CronSchedule.Parse(schedule.CronExpression, schedule.TimeZone, out var errors);
        if (cron is null)
        {
            return new ScheduleFirePlan([], [], null, 0, string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}")));
        }

        var settings = SettingsOf(schedule, misfireThreshold);
        var nowOffset = new DateTimeOffset(DateTime.SpecifyKind(now, DateTimeKind.Utc));
        var decided = CatchUp.Decide(cron, new DateTimeOffset(DateTime.SpecifyKind(due, DateTimeKind.Utc)), nowOffset, settings);
        // In the schedule's zone, as people read it (the event's scheduled_local).
        var fires = decided.Fires.Select(f => f with { ScheduledAt = TimeZoneInfo.ConvertTime(f.ScheduledAt, cron.TimeZone) }).ToList();
        var events = fires.Select(f => TimeTrigger(schedule, f, now)).ToList();
        return new ScheduleFirePlan(events, fires, decided.NextDue?.UtcDateTime, decided.Dropped);
    }

    /// <summary>The schedule's catch-up settings as stored.</summary>
    public static CatchUpSettings SettingsOf(Schedule schedule, TimeSpan? misfireThreshold = null)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var policy = schedule.CatchUp switch
        {
            "skip" => CatchUpPolicy.Skip,
            "all" => CatchUpPolicy.All,
            _ => CatchUpPolicy.Once,
        };
        return new CatchUpSettings(policy, schedule.CatchUpMax > 0 ? schedule.CatchUpMax : CatchUpSettings.DefaultMaxFires, misfireThreshold);
    }

    /// <summary>
    /// The event of one fire: it names the workflow and the step (so it starts that step only), carries when it was
    /// due and when it fired (and, standing for several missed ticks, how many), and is unique per step and tick.
    /// </summary>
    public static Event TimeTrigger(Schedule schedule, ScheduledFire fire, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(fire);
        var extra = new JsonObject
        {
            [ScheduledAtKey] = Iso(fire.ScheduledAt.UtcDateTime),
            [FiredAtKey] = Iso(now),
            ["lag_ms"] = Math.Max(0, (long)(now - fire.ScheduledAt.UtcDateTime).TotalMilliseconds),
            ["cron_expression"] = schedule.CronExpression,
            ["time_zone"] = schedule.TimeZone,
            ["scheduled_local"] = fire.ScheduledAt.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
        };
        if (fire.Ticks > 1)
        {
            extra["ticks"] = fire.Ticks;
        }

        return new Event
        {
            Kind = EventKinds.TimeTrigger,
            ProjectId = schedule.ProjectId,
            WorkflowId = schedule.WorkflowId,
            ActionId = schedule.ActionId,
            ExtraMetadata = extra,
            Payload = JsonNodes.EmptyObject(),
            Source = EventSources.Scheduler,
            // One event per step and tick, whatever happens: the database refuses a second.
            DedupKey = string.Create(CultureInfo.InvariantCulture, $"schedule:{schedule.ActionId}:{fire.ScheduledAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}"),
            TimeCreated = now,
        };
    }

    private static string Iso(DateTime utc) => DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture);
}
