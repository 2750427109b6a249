using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Scheduling;

/// <summary>
/// Fires schedules, in every worker: sleeps (through <see cref="TimeProvider"/>) until the earliest schedule is due, or
/// until a schedule changes in this process, or at most <see cref="EngineOptions.SchedulerPollInterval"/>; then claims
/// the due ones (<see cref="IScheduleStore.FireDueAsync"/>: a tick is taken by one worker only) and hands their runs to
/// the actions queue. An idle installation costs one small query per poll interval per worker, whatever the number
/// of schedules. Missed ticks (every worker down) are handled by each schedule's catch-up policy when one starts.
/// </summary>
public sealed partial class CronScheduler(
    IScheduleStore store, IOutboxSignal signal, IOptions<EngineOptions> options, TimeProvider time, ILogger<CronScheduler> logger) : BackgroundService
{
    /// <summary>Notified (<see cref="IOutboxSignal"/>) when a schedule changed in this process, so the scheduler looks again at once.</summary>
    public const string Signal = "schedules";

    /// <summary>Schedules claimed per transaction at most.</summary>
    public const int BatchSize = 250;

    private static readonly TimeSpan RaceBackoff = TimeSpan.FromMilliseconds(20);
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Sleep.RunPassesAsync(PassAsync, (backoff, ex) => LogPassFailed(logger, (long)backoff.TotalMilliseconds, ex), signal, Signal, time, stoppingToken);
    }

    /// <summary>Fires what is due now; returns how long to sleep before the next pass.</summary>
    public async Task<TimeSpan> PassAsync(CancellationToken cancellationToken)
    {
        var engine = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var pass = await store.FireDueAsync(now, BatchSize, s => ScheduleFires.Plan(s, now, engine.MisfireThreshold), cancellationToken);
        foreach (var fired in pass.Fired)
        {
            var lag = Math.Max(0, (fired.FiredAt - fired.ScheduledAt).TotalMilliseconds);
            ActionflowMetrics.ScheduleFired(lag);
            LogFired(logger, fired.ActionId, fired.WorkflowId, fired.ScheduledAt, (long)lag, fired.Ticks, fired.EventId);
        }

        if (pass.Dropped > 0)
        {
            LogDropped(logger, pass.Dropped);
        }

        foreach (var (actionId, problem) in pass.Stopped)
        {
            LogStopped(logger, actionId, problem);
        }

        if (pass.Fired.Count > 0)
        {
            signal.Notify(QueueNames.ActionTriggers);
        }

        if (pass.Claimed == BatchSize)
        {
            return TimeSpan.Zero;
        }

        var after = time.GetUtcNow().UtcDateTime;
        var next = await store.NextDueAsync(cancellationToken);
        if (next is not { } due)
        {
            return engine.SchedulerPollInterval;
        }

        var until = due - after;
        if (until <= TimeSpan.Zero)
        {
            // Due, yet not claimed here: another worker holds it and is committing its fire right now.
            return pass.Claimed == 0 ? RaceBackoff : TimeSpan.Zero;
        }

        return until < engine.SchedulerPollInterval ? until : engine.SchedulerPollInterval;
    }

    [LoggerMessage(1060, LogLevel.Information, "Schedule of step {ActionId} (workflow {WorkflowId}) fired for {ScheduledAt:O}, {LagMs} ms after its time, standing for {Ticks} tick(s): event {EventId}")]
    private static partial void LogFired(ILogger logger, long actionId, long workflowId, DateTime scheduledAt, long lagMs, int ticks, long eventId);

    [LoggerMessage(1061, LogLevel.Warning, "{Dropped} missed tick(s) dropped by the schedules' catch-up policies")]
    private static partial void LogDropped(ILogger logger, int dropped);

    [LoggerMessage(1062, LogLevel.Error, "The schedule of step {ActionId} stops: {Problem}")]
    private static partial void LogStopped(ILogger logger, long actionId, string problem);

    [LoggerMessage(1063, LogLevel.Warning, "Could not fire the due schedules; trying again in {DelayMs} ms")]
    private static partial void LogPassFailed(ILogger logger, long delayMs, Exception exception);
}
