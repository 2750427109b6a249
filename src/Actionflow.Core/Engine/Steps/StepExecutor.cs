using System.Runtime.CompilerServices;
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
    private readonly IConcurrencyStore? _concurrency;
    private readonly IOutboxSignal? _signal;

    public StepExecutor(
        StepInvoker invoker, RunRecorder recorder, TriggerIndex index, LeaseKeeper leases, IOptions<EngineOptions> options, TimeProvider time, ILogger<StepExecutor> logger,
        IConcurrencyStore? concurrency = null, IOutboxSignal? signal = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        (_invoker, _recorder, _leases, _options, _time, _logger) = (invoker, recorder, leases, options, time, logger);
        (_concurrency, _signal) = (concurrency, signal);
        _matchSteps = index.MatchSteps;
        _flowOf = index.FlowOf;
    }

    /// <param name="depth">How many steps of this chain ran before this one in this worker (0 for a trigger's or an event's step).</param>
    /// <remarks>
    /// This method and the others of an event's path (the consumer's settlement and handler, the ingest, the chain, the
    /// record) run on pooled state machines: one that waits for its group commit takes a box another step gave back,
    /// when the pool has one, instead of a new one per step (measured in bench/README.md, "Round 11").
    /// </remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StepResult> ExecuteAsync(ClaimedStep claimed, int depth, CancellationToken cancellationToken)
    {
        var (step, ev, run) = claimed;
        _leases.Hold(run.Id);
        try
        {
            var skipReason = StepGate.SkipReason(step, ev);
            // A run under a concurrency limit takes a slot before it runs (a resumed delay already has one).
            var limited = _concurrency is not null && skipReason is null && run.WaitedUntil is null && FlowControl.StepConcurrency.Applies(step);
            if (limited && run.AdmittedAt is null && !await AdmitAsync(step, ev, run, cancellationToken))
            {
                return new StepResult(Verdict.Done, null, []);
            }

            var outcome = skipReason is not null
                ? StepOutcome.Skip(skipReason)
                : await _invoker.InvokeAsync(step.Action, ev, run, cancellationToken);
            var plan = CompletionPlanner.Plan(
                new CompletionInput(step, ev, run, outcome, _options.Value.WorkerId, _time.GetUtcNow().UtcDateTime, Random.Shared.NextDouble()), _matchSteps, _flowOf);
            var recorded = await _recorder.RecordAsync(plan, holdNext: depth < MaxInProcessDepth, cancellationToken);
            if (!recorded.Recorded)
            {
                return new StepResult(Verdict.Done, null, []);
            }

            Report(plan, step.Action, ev, run);
            if (limited && plan.Completion.Status.IsTerminal())
            {
                await ReleaseAsync(step.Action.WorkflowId, run.ConcurrencyKey is { } key ? new SlotKey(step.Action.Id, key) : null);
            }

            return new StepResult(plan.Verdict, plan.Emitted, recorded.HeldRuns);
        }
        finally
        {
            _leases.Release(run.Id);
        }
    }

    /// <summary>True when the run has its slot; false when it was recorded waiting for one (or is no longer this worker's).</summary>
    private async Task<bool> AdmitAsync(ActionSnapshot step, Event ev, ActionRun run, CancellationToken cancellationToken)
    {
        var request = new AdmissionRequest(run.Id, _options.Value.WorkerId, step.Action.WorkflowId, FlowControl.StepConcurrency.KeyOf(step.Action, ev),
            _time.GetUtcNow().UtcDateTime);
        var admission = await _concurrency!.AdmitAsync(request, cancellationToken);
        if (admission.Released > 0)
        {
            _signal?.Notify(QueueNames.ActionTriggers);
        }

        switch (admission.State)
        {
            case AdmissionState.Admitted:
                if (admission.AdmittedAt is { } at)
                {
                    (run.AdmittedAt, run.StartedAt, run.ConcurrencyKey) = (at, at, request.Key);
                }

                return true;
            case AdmissionState.Waits:
                ActionflowMetrics.RunEnded("waiting");
                Log.RunWaitsForSlot(_logger, run.Id, step.Action.Id, admission.Reason ?? "");
                return false;
            default:
                Log.RunLost(_logger, run.Id);
                return false;
        }
    }

    /// <summary>
    /// Gives the slot this run held to the next waiting run. Not in the run's own transaction: when this fails (or the
    /// worker dies first), the sweep gives it within a lease period.
    /// </summary>
    private async Task ReleaseAsync(long workflowId, SlotKey? freed)
    {
        try
        {
            if (await _concurrency!.ReleaseAsync(workflowId, freed, _time.GetUtcNow().UtcDateTime, CancellationToken.None) > 0)
            {
                _signal?.Notify(QueueNames.ActionTriggers);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.SlotReleaseFailed(_logger, workflowId, ex);
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
