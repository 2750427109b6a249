using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;
using Actionflow.Sdk;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

/// <summary>
/// Keeps a workflow's schedules in step with its definition, inside the transaction that changes the definition: one
/// schedule per active step of an active workflow whose trigger is <c>time_trigger</c> with a valid
/// <c>cron_expression</c>; none for anything else (deactivated, archived, another trigger).
/// </summary>
public static class ScheduleSync
{
    /// <summary>
    /// Adds, changes or removes the schedules of <paramref name="workflowId"/>'s steps as its definition, as saved in
    /// <paramref name="db"/>'s open transaction, now says. A schedule whose expression and time zone did not change
    /// keeps its next due time (no tick is lost or fired twice by an unrelated edit); a new or changed one is due at
    /// its first tick after <paramref name="now"/>. Returns whether any schedule changed.
    /// </summary>
    public static async Task<bool> SyncAsync(ActionflowDbContext db, long workflowId, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var workflow = await db.Workflows.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowId, cancellationToken);
        var steps = workflow is { Active: true, Archived: false }
            ? await db.Actions.AsNoTracking().Where(a => a.WorkflowId == workflowId && a.Active && !a.Archived).ToListAsync(cancellationToken)
            : [];
        var wanted = new Dictionary<long, (WorkflowAction Step, CronSchedule Cron, CatchUpSettings CatchUp)>();
        foreach (var step in steps.Where(s => s.TriggerEventName == EventKinds.TimeTrigger))
        {
            if (CronSchedule.FromTriggerData(step.TriggerData, out _) is { } cron && CatchUpSettings.FromTriggerData(step.TriggerData, out _) is { } catchUp)
            {
                wanted[step.Id] = (step, cron, catchUp);
            }
        }

        var existing = await db.Schedules.Where(s => s.WorkflowId == workflowId).ToListAsync(cancellationToken);
        var changed = false;
        foreach (var schedule in existing.Where(s => !wanted.ContainsKey(s.ActionId)))
        {
            db.Schedules.Remove(schedule);
            changed = true;
        }

        var utcNow = DateTime.SpecifyKind(now, DateTimeKind.Utc);
        foreach (var (actionId, (step, cron, catchUp)) in wanted)
        {
            var schedule = existing.FirstOrDefault(s => s.ActionId == actionId);
            if (schedule is null)
            {
                schedule = new Schedule
                {
                    ActionId = actionId,
                    ProjectId = step.ProjectId,
                    WorkflowId = step.WorkflowId,
                    Kind = step.Kind,
                    CronExpression = cron.Expression,
                    TimeCreated = now,
                };
                db.Schedules.Add(schedule);
            }
            else if (schedule.CronExpression == cron.Expression && schedule.TimeZone == cron.TimeZoneId
                     && schedule.CatchUp == catchUp.PolicyName && schedule.CatchUpMax == catchUp.MaxFires && schedule.Kind == step.Kind)
            {
                continue;
            }

            if (schedule.NextDueAt is null || schedule.CronExpression != cron.Expression || schedule.TimeZone != cron.TimeZoneId)
            {
                schedule.NextDueAt = cron.NextAfter(new DateTimeOffset(utcNow))?.UtcDateTime;
            }

            schedule.CronExpression = cron.Expression;
            schedule.TimeZone = cron.TimeZoneId;
            schedule.CatchUp = catchUp.PolicyName;
            schedule.CatchUpMax = catchUp.MaxFires;
            schedule.Kind = step.Kind;
            schedule.TimeUpdated = now;
            changed = true;
        }

        if (changed)
        {
            await db.SaveChangesAsync(cancellationToken);
        }

        return changed;
    }
}
