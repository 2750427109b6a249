namespace Actionflow.Core.Domain;

/// <summary>
/// A scheduled step: one row per active step (of an active workflow) whose trigger is <c>time_trigger</c> with a
/// <c>cron_expression</c>, kept in step with the definition by the API in the same transaction as the change. A fire
/// claims the row (so two workers never take one tick), and commits its <c>time_trigger</c> event, the run it starts
/// and the next due time together.
/// </summary>
public sealed class Schedule
{
    /// <summary>The scheduled step (one schedule per step).</summary>
    public long ActionId { get; set; }
    public long ProjectId { get; set; }
    public long WorkflowId { get; set; }
    /// <summary>The step's kind, for the run a fire starts.</summary>
    public required string Kind { get; set; }
    /// <summary>As stored in <c>trigger_data.cron_expression</c>, whitespace normalized.</summary>
    public required string CronExpression { get; set; }
    /// <summary>IANA time zone the expression is read in.</summary>
    public string TimeZone { get; set; } = "UTC";
    /// <summary><c>skip</c>, <c>once</c> or <c>all</c>.</summary>
    public string CatchUp { get; set; } = "once";
    /// <summary>Under <c>all</c>: the most missed ticks fired at once.</summary>
    public int CatchUpMax { get; set; }
    /// <summary>The earliest tick not fired yet; null when the expression has no further tick.</summary>
    public DateTime? NextDueAt { get; set; }
    /// <summary>The scheduled time of the last fire.</summary>
    public DateTime? LastScheduledAt { get; set; }
    /// <summary>When the last fire happened.</summary>
    public DateTime? LastFiredAt { get; set; }
    /// <summary>The <c>time_trigger</c> event of the last fire.</summary>
    public long? LastEventId { get; set; }
    /// <summary>Ticks dropped so far by the catch-up policy.</summary>
    public long DroppedTicks { get; set; }
    public DateTime TimeCreated { get; set; }
    public DateTime TimeUpdated { get; set; }
}
