using System.Text.Json.Nodes;

namespace Actionflow.Core.Scheduling;

/// <summary>What to do with ticks that were due while no worker could fire them.</summary>
public enum CatchUpPolicy
{
    /// <summary>Drop missed ticks; fire again from the next tick on.</summary>
    Skip,

    /// <summary>One fire stands for all the missed ticks (the default).</summary>
    Once,

    /// <summary>Fire every missed tick, the most recent <see cref="CatchUpSettings.MaxFires"/> of them.</summary>
    All,
}

/// <summary>
/// A schedule's catch-up settings. A tick fired no later than <see cref="MisfireThreshold"/> after its time is on time
/// (a worker polling, a short restart) and fires under every policy; a later one is missed and the policy decides.
/// The threshold is Quartz's misfire threshold, with its default of a minute.
/// </summary>
public sealed record CatchUpSettings(CatchUpPolicy Policy = CatchUpPolicy.Once, int MaxFires = CatchUpSettings.DefaultMaxFires, TimeSpan? Threshold = null)
{
    public const int DefaultMaxFires = 100;
    public const int MaxMaxFires = 10_000;
    public const string PolicyField = "trigger_data.catch_up";
    public const string MaxFiresField = "trigger_data.catch_up_max";

    public static CatchUpSettings Default { get; } = new();

    public TimeSpan MisfireThreshold => Threshold ?? TimeSpan.FromMinutes(1);

    /// <summary>The policy as the API states it: <c>skip</c>, <c>once</c>, <c>all</c>.</summary>
    public string PolicyName => Policy.ToString().ToLowerInvariant();

    /// <summary>Reads <c>catch_up</c> (<c>skip</c>|<c>once</c>|<c>all</c>, default <c>once</c>) and <c>catch_up_max</c> (for <c>all</c>) from <c>trigger_data</c>.</summary>
    public static CatchUpSettings? FromTriggerData(JsonObject triggerData, out IReadOnlyList<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(triggerData);
        var found = new List<FieldError>();
        errors = found;
        var policy = CatchUpPolicy.Once;
        if (triggerData["catch_up"] is { } p)
        {
            var name = p is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            switch (name)
            {
                case "skip":
                    policy = CatchUpPolicy.Skip;
                    break;
                case "once":
                    policy = CatchUpPolicy.Once;
                    break;
                case "all":
                    policy = CatchUpPolicy.All;
                    break;
                default:
                    found.Add(new FieldError(PolicyField, "must be \"skip\", \"once\" or \"all\""));
                    break;
            }
        }

        var max = DefaultMaxFires;
        if (triggerData["catch_up_max"] is { } m)
        {
            if (!Json.JsonNodes.TryGetInt64(m, out var n) || n < 1 || n > MaxMaxFires)
            {
                found.Add(new FieldError(MaxFiresField, $"must be an integer from 1 to {MaxMaxFires}"));
            }
            else if (policy != CatchUpPolicy.All)
            {
                found.Add(new FieldError(MaxFiresField, "applies only with \"catch_up\": \"all\""));
            }
            else
            {
                max = (int)n;
            }
        }

        return found.Count == 0 ? new CatchUpSettings(policy, max) : null;
    }
}

/// <summary>One fire of a schedule: the tick's time, and how many missed ticks it stands for (more than one under <c>once</c>).</summary>
public sealed record ScheduledFire(DateTimeOffset ScheduledAt, int Ticks = 1);

/// <summary>
/// What a claim of a due schedule does: the fires (oldest first, each with its scheduled time), the ticks dropped,
/// and the next due time to store with them in the same transaction (null: the schedule has no further tick).
/// </summary>
public sealed record CatchUpPlan(IReadOnlyList<ScheduledFire> Fires, int Dropped, DateTimeOffset? NextDue);

public static class CatchUp
{
    /// <summary>Ticks are counted up to this many; beyond it (a per-second schedule down for a day) the count stops.</summary>
    public const int CountLimit = 100_000;

    /// <summary>
    /// Decides a schedule whose stored due time is <paramref name="due"/> at <paramref name="now"/>. The due time is a
    /// tick that has not fired; every tick from it up to <paramref name="now"/> is due. Returns no fire before
    /// <paramref name="due"/>. The next due time is the first tick after <paramref name="now"/>, so a tick is never
    /// fired twice whatever the policy.
    /// </summary>
    public static CatchUpPlan Decide(CronSchedule schedule, DateTimeOffset due, DateTimeOffset now, CatchUpSettings settings)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(settings);
        if (now < due)
        {
            return new CatchUpPlan([], 0, due);
        }

        var onTimeFrom = now - settings.MisfireThreshold;
        var onTime = new List<DateTimeOffset>();
        var missedRecent = new List<DateTimeOffset>();
        var missed = 0;
        var keep = settings.Policy switch
        {
            CatchUpPolicy.Skip => 0,
            CatchUpPolicy.Once => 1,
            _ => Math.Max(1, settings.MaxFires),
        };

        // Newest first, so that 'keep' bounds the memory and the count stops at the limit for long outages.
        var tick = schedule.LastAtOrBefore(now);
        var counted = 0;
        while (tick is { } t && t > due && counted < CountLimit)
        {
            Classify(t);
            counted++;
            tick = schedule.NextBefore(t);
        }

        if (counted < CountLimit)
        {
            Classify(due);
        }

        var fires = new List<ScheduledFire>(missedRecent.Count + onTime.Count);
        if (settings.Policy == CatchUpPolicy.Once && missedRecent.Count == 1)
        {
            fires.Add(new ScheduledFire(missedRecent[0], missed));
            missed = 0;
        }
        else
        {
            missedRecent.Reverse();
            fires.AddRange(missedRecent.Select(t => new ScheduledFire(t)));
            missed -= missedRecent.Count;
        }

        onTime.Reverse();
        fires.AddRange(onTime.Select(t => new ScheduledFire(t)));
        return new CatchUpPlan(fires, missed, schedule.NextAfter(now));

        void Classify(DateTimeOffset t)
        {
            if (t >= onTimeFrom)
            {
                onTime.Add(t);
                return;
            }

            missed++;
            if (missedRecent.Count < keep)
            {
                missedRecent.Add(t);
            }
        }
    }
}
