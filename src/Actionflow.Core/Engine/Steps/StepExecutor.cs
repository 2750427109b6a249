using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>What running one step led to.</summary>
/// <param name="Verdict">For the trigger message that brought the run, if one did.</param>
/// <param name="Emitted">The event the step emitted, if it was recorded.</param>
/// <param name="HeldRuns">The next steps' runs recorded held by this worker, for the <see cref="ChainRunner"/>.</param>
public readonly record struct StepResult(Verdict Verdict, Event? Emitted, IReadOnlyList<ActionRun> HeldRuns);

/// <summary>
/// Runs one claimed step: the gate's last check, the <see cref="StepInvoker"/>, the <see cref="CompletionPlanner"/>,
/// the <see cref="RunRecorder"/>, with the run's lease renewed meanwhile.
/// </summary>
public sealed class StepExecutor
{
    /// <summary>A chain this many steps deep in one worker continues through the actions queue instead.</summary>
    public const int MaxInProcessDepth = 32;

    private readonly StepInvoker _invoker;
    private readonly RunRecorder _recorder;
    private readonly LeaseKeeper _leases;
    private readonly IOptions<EngineOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<StepExecutor> _logger;
    private readonly Func<Event, IReadOnlyList<MatchedStep>> _matchSteps;
    private readonly Func<long, FlowControl.StepFlow?> _flowOf;

    public StepExecutor(StepInvoker invoker, RunRecorder recorder, TriggerIndex index, LeaseKeeper leases, IOptions<EngineOptions> options, TimeProvider time, ILogger<StepExecutor> logger)
    {
        ArgumentNullException.ThrowIfNull(index);
        (_invoker, _recorder, _leases, _options, _time, _logger) = (invoker, recorder, leases, options, time, logger);
        _matchSteps = index.MatchSteps;
        _flowOf = index.FlowOf;
    }

    /// <param name="depth">How many steps of this chain ran before this one in this worker (0 for a trigger's or an event's step).</param>
    public async Task<StepResult> ExecuteAsync(ClaimedStep claimed, int depth, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        var (step, ev, run) = claimed;
        _leases.Hold(run.Id);
        try
        {
            var outcome = StepGate.SkipReason(step, ev) is { } skipped
                ? StepOutcome.Skip(skipped)
                : await _invoker.InvokeAsync(step.Action, ev, run, cancellationToken);
            var plan = CompletionPlanner.Plan(
                new CompletionInput(step, ev, run, outcome, _options.Value.WorkerId, _time.GetUtcNow().UtcDateTime, Random.Shared.NextDouble()), _matchSteps, _flowOf);
            var recorded = await _recorder.RecordAsync(plan, holdNext: depth < MaxInProcessDepth, cancellationToken);
            if (!recorded.Recorded)
            {
                return new StepResult(Verdict.Done, null, []);
            }

            Report(plan, step.Action, ev, run);
            return new StepResult(plan.Verdict, plan.Emitted, recorded.HeldRuns);
        }
        finally
        {
            _leases.Release(run.Id);
        }
    }

    private void Report(in CompletionPlan plan, WorkflowAction action, Event ev, ActionRun run)
    {
        var outcome = plan.Outcome;
        if (plan.RetryScheduled)
        {
            ActionflowMetrics.RunEnded("retrying");
            Log.RunRetryScheduled(_logger, run.Id, action.Id, run.Attempt, outcome.Retry!.MaxAttempts, plan.Completion.NextAttemptAt!.Value, outcome.Reason ?? "");
            return;
        }

        if (plan.Waits)
        {
            ActionflowMetrics.RunEnded("waiting");
            Log.RunWaiting(_logger, run.Id, action.Id, plan.Completion.NextAttemptAt!.Value);
            return;
        }

        if (outcome.Status == ActionRunStatus.Failed)
        {
            Log.RunFailed(_logger, run.Id, action.Id, outcome.Reason ?? "");
        }

        var status = RunLifecycle.Name(outcome.Status);
        Log.RunEnded(_logger, run.Id, action.Id, action.Kind, ev.Id, status, run.Attempt);
        ActionflowMetrics.RunEnded(status);
    }
}
