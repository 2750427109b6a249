using System.Text.Json.Nodes;
using Actionflow.Core.Domain;

namespace Actionflow.Api.Contracts;

/// <summary>A scheduled step of a workflow: its expression, zone, catch-up policy, next and last fire.</summary>
/// <param name="CatchUp"><c>skip</c>, <c>once</c> (the default) or <c>all</c>: what happens to ticks missed while no worker ran.</param>
/// <param name="CatchUpMax">Under <c>all</c>: the most missed ticks fired at once.</param>
/// <param name="DroppedTicks">Ticks the catch-up policy dropped so far.</param>
public sealed record ScheduleDto(
    long ActionId,
    string CronExpression,
    string TimeZone,
    string CatchUp,
    int? CatchUpMax,
    DateTime? NextFireAt,
    LastFireDto? LastFire,
    long DroppedTicks)
{
    public static ScheduleDto From(Schedule s) =>
        new(s.ActionId, s.CronExpression, s.TimeZone, s.CatchUp, s.CatchUp == "all" ? s.CatchUpMax : null, s.NextDueAt, LastFireDto.From(s), s.DroppedTicks);
}

/// <summary>A schedule's last fire: the tick it was for, when it fired, its <c>time_trigger</c> event.</summary>
public sealed record LastFireDto(DateTime ScheduledAt, DateTime FiredAt, long? EventId)
{
    public static LastFireDto? From(Schedule s) =>
        s is { LastScheduledAt: { } scheduled, LastFiredAt: { } fired } ? new LastFireDto(scheduled, fired, s.LastEventId) : null;
}

/// <summary>The next fire times of one <c>time_trigger</c> step, read from its trigger as it is now.</summary>
/// <param name="Scheduled">True when the step is scheduled (its workflow is active); false: these are the times it would fire.</param>
/// <param name="NextFireTimes">In UTC.</param>
/// <param name="NextFireTimesLocal">The same instants in the step's time zone, with their offset.</param>
public sealed record StepScheduleDto(
    long ActionId,
    string CronExpression,
    string TimeZone,
    string CatchUp,
    bool Scheduled,
    IReadOnlyList<DateTime> NextFireTimes,
    IReadOnlyList<string> NextFireTimesLocal,
    LastFireDto? LastFire);

/// <summary>Answer of <c>GET workflow/{workflow_id}/schedule</c>.</summary>
/// <param name="NextFireTimes">The workflow's next fire times over all its time_trigger steps, in UTC, earliest first.</param>
public sealed record WorkflowScheduleResponse(long WorkflowId, bool Active, IReadOnlyList<DateTime> NextFireTimes, IReadOnlyList<StepScheduleDto> Steps);

/// <summary>Body of <c>POST actions/schedule/preview</c>: a trigger as the builder holds it before it is saved.</summary>
/// <param name="TriggerData"><c>{"event_name": "time_trigger", "cron_expression": "0 9 * * 1-5", "time_zone": "Europe/Berlin"}</c>.</param>
/// <param name="Count">How many fire times, 1 to 100 (default 5).</param>
public sealed record SchedulePreviewRequest(JsonObject? TriggerData, int? Count);

/// <summary>Answer of <c>POST actions/schedule/preview</c>.</summary>
public sealed record SchedulePreviewResponse(string CronExpression, string TimeZone, IReadOnlyList<DateTime> NextFireTimes, IReadOnlyList<string> NextFireTimesLocal);
