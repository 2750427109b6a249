using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>A run this worker holds, with the step and event it is for.</summary>
public readonly record struct ClaimedStep(ActionSnapshot Step, Event Event, ActionRun Run);

/// <summary>What the gate let through: a claimed run, or the verdict for a trigger that has nothing (more) to run.</summary>
public readonly record struct GateResult(ClaimedStep? Claimed, Verdict Verdict);

/// <summary>
/// The way in to a run: claims a trigger's run under a lease (<see cref="RunTransition.Start"/>, or
/// <see cref="RunTransition.TakeOver"/> of a dead worker's), or says why not; and re-checks, just before it runs, that
/// the step still applies to its event (definitions and trigger filters may have changed since it matched).
/// </summary>
public sealed class StepGate(
    IPipelineStore store, ActionSnapshotCache snapshots, TriggerIndex index, IOptions<EngineOptions> options, TimeProvider time, ILogger<StepGate> logger)
{
    public async Task<GateResult> ClaimAsync(TriggerMessage trigger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        // The next steps are matched against the index when this run completes: never against an empty one.
        await index.WaitReadyAsync(cancellationToken);
        var step = await snapshots.GetAsync(trigger.ActionId, cancellationToken);
        if (step is null || step.Action.ProjectId != trigger.ProjectId)
        {
            return Invalid(trigger, $"action {trigger.ActionId} does not exist in project {trigger.ProjectId}");
        }

        var action = step.Action;
        var engine = options.Value;
        var now = time.GetUtcNow().UtcDateTime;

        // The common case: the run was recorded pending with its event, and this claims it in one statement.
        var pending = new PendingClaim(trigger.EventId, action.Id, trigger.RunId, engine.WorkerId, now, now + engine.LeaseDuration);
        if (await store.TryClaimPendingRunAsync(pending, cancellationToken) is { } claimed)
        {
            return new GateResult(new ClaimedStep(step, claimed.Event, claimed.Run), Verdict.Done);
        }

        // Otherwise find out why (ended, held, not due, canceled), or create the run (a trigger written before runs were recorded with their event).
        var ev = await store.FindEventAsync(trigger.EventId, cancellationToken);
        if (ev is null || ev.ProjectId != trigger.ProjectId)
        {
            return Invalid(trigger, $"event {trigger.EventId} does not exist in project {trigger.ProjectId}");
        }

        var claim = await store.ClaimRunAsync(
            new RunClaimRequest(ev.Id, action.Id, action.ProjectId, action.WorkflowId, action.Kind, ev.WorkflowRunId, engine.WorkerId, now, now + engine.LeaseDuration),
            cancellationToken);
        switch (claim.State)
        {
            case RunClaimState.Claimed:
                return new GateResult(new ClaimedStep(step, ev, claim.Run), Verdict.Done);
            case RunClaimState.AlreadyTerminal:
                Log.RunAlreadyTerminal(logger, claim.Run.Id, action.Id, ev.Id);
                return new GateResult(null, Verdict.Done);
            case RunClaimState.HeldElsewhere when claim.Run.WorkerId == engine.WorkerId:
                // This process is running it right now; this copy is a duplicate delivery.
                return new GateResult(null, Verdict.Done);
            case RunClaimState.HeldElsewhere:
                Log.RunHeldElsewhere(logger, claim.Run.Id, claim.Run.WorkerId, claim.Run.LeaseUntil);
                var wait = (claim.Run.LeaseUntil ?? now) - now;
                return new GateResult(null, Verdict.Retry(Clamp(wait, TimeSpan.FromMilliseconds(200), engine.LeaseDuration), "run held by another worker"));
            default:
                // Early (a repeated copy, or released early): come back when it is due rather than drop it.
                var due = (claim.Run.NextAttemptAt ?? now) - now;
                return new GateResult(null, Verdict.Retry(Clamp(due, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(15)), "retry not due yet"));
        }
    }

    /// <summary>Null when the step still applies to the event; otherwise why the run is skipped.</summary>
    public static string? SkipReason(ActionSnapshot step, Event ev)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(ev);
        var action = step.Action;
        if (action.Archived || !action.Active)
        {
            return "the step is archived or inactive";
        }

        if (step.WorkflowArchived || !step.WorkflowActive)
        {
            return "the workflow is inactive or archived";
        }

        if (!string.Equals(action.TriggerEventName, ev.Kind, StringComparison.Ordinal))
        {
            return $"the step now triggers on '{action.TriggerEventName}', not '{ev.Kind}'";
        }

        return TriggerFilter.Check(action.Id, action.WorkflowId, step.PreviousActionId, action.TriggerData, ev, action.DependsOn) is { } filtered
            ? "filtered: " + filtered
            : null;
    }

    private GateResult Invalid(TriggerMessage trigger, string reason)
    {
        Log.TriggerInvalid(logger, trigger.EventId, trigger.ActionId, reason);
        return new GateResult(null, Verdict.DeadLetter(reason));
    }

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;
}
