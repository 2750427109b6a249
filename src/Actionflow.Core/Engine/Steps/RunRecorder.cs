using System.Runtime.CompilerServices;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>
/// Writes a <see cref="CompletionPlan"/> durably, then wakes whoever delivers what it queued: the relay (or the embedded
/// consumers) for the next steps' triggers, and the wake-up for a delayed retry or the end of a wait.
/// </summary>
public sealed class RunRecorder(
    IPipelineStore store, HeldSteps held, IOutboxSignal signal, DueWakeups wakeups, IOptions<EngineOptions> options, TimeProvider time, ILogger<RunRecorder> logger)
{
    /// <summary>
    /// Records a run's outcome. The side effect has happened by now, so a database that is briefly unavailable must not
    /// make the step run again: the write is retried (0.1 s, doubling to 2 s) for up to one lease duration, after which
    /// another worker may take the run over anyway. Then, or when the host stops, the error goes up and the trigger is
    /// redelivered (at-least-once). With <paramref name="holdNext"/>, each try marks the next steps held by this worker
    /// under a lease that starts then.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CompletionRecorded> RecordAsync(CompletionPlan plan, bool holdNext, CancellationToken cancellationToken)
    {
        var completion = plan.Completion;
        var giveUpAt = time.GetUtcNow() + options.Value.LeaseDuration;
        var delay = TimeSpan.FromMilliseconds(100);
        CompletionRecorded recorded;
        while (true)
        {
            try
            {
                recorded = await store.CompleteRunAsync(completion, plan.Emitted, holdNext ? held.Hold(plan.Next) : plan.Next, CancellationToken.None);
                break;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && time.GetUtcNow() + delay < giveUpAt)
            {
                Log.RecordRetrying(logger, completion.RunId, (long)delay.TotalMilliseconds, ex);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }

        if (!recorded.Recorded)
        {
            Log.RunLost(logger, completion.RunId);
            return recorded;
        }

        if (completion.NextAttemptAt is { } nextAt)
        {
            wakeups.At(QueueNames.ActionTriggers, nextAt);
        }
        else
        {
            signal.NotifyRecorded(plan.Next, recorded.HeldRuns.Count);
        }

        return recorded;
    }

    /// <summary>Records a held run whose step was deleted since it matched as failed, as a trigger for it would be dead-lettered.</summary>
    public ValueTask<CompletionRecorded> RecordVanishedAsync(ActionRun run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var now = time.GetUtcNow().UtcDateTime;
        var completion = new RunCompletion(run.Id, options.Value.WorkerId, ActionRunStatus.Failed, null, $"action {run.ActionId} no longer exists",
            ErrorTypes.UnknownAction, now, WorkflowRunStatus.Failed);
        return RecordAsync(new CompletionPlan(completion, null, [], Verdict.Done, StepOutcome.Fail(completion.ErrorReason!, ErrorTypes.UnknownAction)), false, cancellationToken);
    }
}
