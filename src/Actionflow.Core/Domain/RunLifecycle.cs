namespace Actionflow.Core.Domain;

/// <summary>What can happen to an action run; <see cref="RunLifecycle"/> says from which states and to which.</summary>
public enum RunTransition
{
    /// <summary>
    /// A worker claims a pending run, or a retrying one whose next attempt is due (attempt counted), or a waiting one
    /// whose wait is over (the same attempt goes on).
    /// </summary>
    Start,
    /// <summary>A worker claims a running run whose lease ran out: its worker died (attempt counted).</summary>
    TakeOver,
    /// <summary>The worker holding the run records success.</summary>
    Succeed,
    /// <summary>The worker holding the run records a final failure.</summary>
    Fail,
    /// <summary>The worker holding the run records that it did not apply (filters, precondition).</summary>
    Skip,
    /// <summary>The worker holding the run records a retryable failure: the next attempt waits for its time.</summary>
    ScheduleRetry,
    /// <summary>
    /// The worker holding the run records that it succeeds later (<c>ActionResult.SuccessAt</c>, the <c>delay</c> action):
    /// the run waits, holding no thread, until its <c>next_attempt_at</c>, then completes with the output it recorded.
    /// </summary>
    Wait,
    /// <summary>The sweeper hands a run whose lease ran out long ago back to the actions queue.</summary>
    Requeue,
    /// <summary>The run's workflow run was canceled: nothing more of it runs, a running result is discarded.</summary>
    Cancel,
    /// <summary>A failed run is run again: <c>POST .../workflow-runs/{id}/retry</c> and dead-letter replay alike.</summary>
    Reopen,
}

/// <summary>A condition a transition needs besides the run's status.</summary>
public enum RunGuard
{
    None,
    /// <summary>
    /// A retrying or waiting run's <c>next_attempt_at</c> has come (a little early counts: clocks and wake-ups are not exact).
    /// </summary>
    NextAttemptDue,
    /// <summary>The run's lease has run out.</summary>
    LeaseExpired,
    /// <summary>The run is held by the worker asking.</summary>
    HeldByCaller,
}

/// <summary>Fields of a run a transition clears.</summary>
[Flags]
public enum RunFields
{
    None = 0,
    Output = 1,
    Error = 2,
    FinishedAt = 4,
    Lease = 8,
    Worker = 16,
    NextAttempt = 32,
    WaitedUntil = 64,
    /// <summary>The run's concurrency slot (<see cref="ActionRun.AdmittedAt"/>): a reopened run asks for one again.</summary>
    Admission = 128,
}

/// <summary>One row of the table: <see cref="Transition"/> takes a run from <see cref="From"/> to <see cref="To"/> when <see cref="Guard"/> holds.</summary>
public sealed record RunRule(RunTransition Transition, ActionRunStatus From, RunGuard Guard, ActionRunStatus To);

/// <summary>The facts a guard is checked against, for <see cref="RunLifecycle.Check"/>.</summary>
public readonly record struct RunFacts(bool NextAttemptDue = false, bool LeaseExpired = false, bool HeldByCaller = false);

/// <summary>The answer of <see cref="RunLifecycle.Check"/>: allowed, to which status; or refused, and why.</summary>
public readonly record struct RunMove(bool Allowed, ActionRunStatus To, string? Refusal);

/// <summary>
/// The action-run state machine, written once: the engine, both stores and the API's retry, cancel and replay go
/// through it (stores turn <see cref="Rules"/> into their conditional updates). Terminal states (succeeded, failed,
/// skipped, canceled) change only by <see cref="RunTransition.Reopen"/> of a failed run.
/// </summary>
public static class RunLifecycle
{
    public static IReadOnlyList<RunRule> Rules { get; } =
    [
        new(RunTransition.Start, ActionRunStatus.Pending, RunGuard.None, ActionRunStatus.Running),
        new(RunTransition.Start, ActionRunStatus.Retrying, RunGuard.NextAttemptDue, ActionRunStatus.Running),
        new(RunTransition.Start, ActionRunStatus.Waiting, RunGuard.NextAttemptDue, ActionRunStatus.Running),
        new(RunTransition.TakeOver, ActionRunStatus.Running, RunGuard.LeaseExpired, ActionRunStatus.Running),
        new(RunTransition.Succeed, ActionRunStatus.Running, RunGuard.HeldByCaller, ActionRunStatus.Succeeded),
        new(RunTransition.Fail, ActionRunStatus.Running, RunGuard.HeldByCaller, ActionRunStatus.Failed),
        new(RunTransition.Skip, ActionRunStatus.Running, RunGuard.HeldByCaller, ActionRunStatus.Skipped),
        new(RunTransition.ScheduleRetry, ActionRunStatus.Running, RunGuard.HeldByCaller, ActionRunStatus.Retrying),
        new(RunTransition.Wait, ActionRunStatus.Running, RunGuard.HeldByCaller, ActionRunStatus.Waiting),
        new(RunTransition.Requeue, ActionRunStatus.Running, RunGuard.LeaseExpired, ActionRunStatus.Pending),
        new(RunTransition.Cancel, ActionRunStatus.Pending, RunGuard.None, ActionRunStatus.Canceled),
        new(RunTransition.Cancel, ActionRunStatus.Running, RunGuard.None, ActionRunStatus.Canceled),
        new(RunTransition.Cancel, ActionRunStatus.Retrying, RunGuard.None, ActionRunStatus.Canceled),
        new(RunTransition.Cancel, ActionRunStatus.Waiting, RunGuard.None, ActionRunStatus.Canceled),
        new(RunTransition.Reopen, ActionRunStatus.Failed, RunGuard.None, ActionRunStatus.Pending),
    ];

    /// <summary>The rules of <paramref name="transition"/>.</summary>
    public static IEnumerable<RunRule> RulesOf(RunTransition transition) => Rules.Where(r => r.Transition == transition);

    /// <summary>The statuses <paramref name="transition"/> applies to (whatever the guards).</summary>
    public static ActionRunStatus[] From(RunTransition transition) => [.. RulesOf(transition).Select(r => r.From).Distinct()];

    /// <summary>The status <paramref name="transition"/> leads to.</summary>
    public static ActionRunStatus To(RunTransition transition) => RulesOf(transition).First().To;

    /// <summary>The transition that records how an attempt ended: succeeded, failed, skipped, retrying or waiting.</summary>
    public static RunTransition Ending(ActionRunStatus outcome) => outcome switch
    {
        ActionRunStatus.Succeeded => RunTransition.Succeed,
        ActionRunStatus.Failed => RunTransition.Fail,
        ActionRunStatus.Skipped => RunTransition.Skip,
        ActionRunStatus.Retrying => RunTransition.ScheduleRetry,
        ActionRunStatus.Waiting => RunTransition.Wait,
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "an attempt ends succeeded, failed, skipped, retrying or waiting"),
    };

    /// <summary>What <paramref name="transition"/> clears besides the status.</summary>
    public static RunFields Clears(RunTransition transition) => transition switch
    {
        RunTransition.Start or RunTransition.TakeOver => RunFields.NextAttempt,
        RunTransition.Succeed or RunTransition.Fail or RunTransition.Skip or RunTransition.ScheduleRetry or RunTransition.Wait => RunFields.Lease,
        RunTransition.Requeue => RunFields.Lease,
        RunTransition.Cancel => RunFields.Lease | RunFields.NextAttempt,
        RunTransition.Reopen => RunFields.Output | RunFields.Error | RunFields.FinishedAt | RunFields.Lease | RunFields.Worker | RunFields.NextAttempt | RunFields.WaitedUntil | RunFields.Admission,
        _ => RunFields.None,
    };

    /// <summary>Whether <paramref name="transition"/> may take a run in <paramref name="from"/>, given <paramref name="facts"/>.</summary>
    public static RunMove Check(ActionRunStatus from, RunTransition transition, RunFacts facts = default)
    {
        RunRule? blocked = null;
        foreach (var rule in Rules)
        {
            if (rule.Transition != transition || rule.From != from)
            {
                continue;
            }

            if (Holds(rule.Guard, facts))
            {
                return new RunMove(true, rule.To, null);
            }

            blocked = rule;
        }

        if (blocked is not null)
        {
            return new RunMove(false, from, $"cannot {Describe(transition)} a {Name(from)} run: {GuardReason(blocked.Guard)}");
        }

        var allowed = From(transition);
        return new RunMove(false, from, $"cannot {Describe(transition)} a {Name(from)} run; only {string.Join(" or ", allowed.Select(Name))} runs can be");
    }

    /// <summary>Applies <paramref name="transition"/> to <paramref name="run"/>: its status and the fields it clears. Throws when it is refused.</summary>
    public static void Apply(ActionRun run, RunTransition transition, RunFacts facts = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var move = Check(run.Status, transition, facts);
        if (!move.Allowed)
        {
            throw new InvalidOperationException($"run {run.Id}: {move.Refusal}");
        }

        run.Status = move.To;
        var clears = Clears(transition);
        if (clears.HasFlag(RunFields.Output))
        {
            run.Output = null;
        }

        if (clears.HasFlag(RunFields.Error))
        {
            (run.ErrorReason, run.ErrorType) = (null, null);
        }

        if (clears.HasFlag(RunFields.FinishedAt))
        {
            run.FinishedAt = null;
        }

        if (clears.HasFlag(RunFields.Lease))
        {
            run.LeaseUntil = null;
        }

        if (clears.HasFlag(RunFields.Worker))
        {
            run.WorkerId = null;
        }

        if (clears.HasFlag(RunFields.NextAttempt))
        {
            run.NextAttemptAt = null;
        }

        if (clears.HasFlag(RunFields.WaitedUntil))
        {
            run.WaitedUntil = null;
        }

        if (clears.HasFlag(RunFields.Admission))
        {
            run.AdmittedAt = null;
        }
    }

    public static string Name(ActionRunStatus status) => status.ToString().ToLowerInvariant();

    private static bool Holds(RunGuard guard, RunFacts facts) => guard switch
    {
        RunGuard.None => true,
        RunGuard.NextAttemptDue => facts.NextAttemptDue,
        RunGuard.LeaseExpired => facts.LeaseExpired,
        RunGuard.HeldByCaller => facts.HeldByCaller,
        _ => false,
    };

    private static string GuardReason(RunGuard guard) => guard switch
    {
        RunGuard.NextAttemptDue => "it is not due yet (a retry's next attempt, or the end of a wait)",
        RunGuard.LeaseExpired => "another worker holds it and its lease has not run out",
        RunGuard.HeldByCaller => "the caller does not hold it (canceled, or taken over after its lease ran out)",
        _ => "not allowed",
    };

    private static string Describe(RunTransition transition) => transition switch
    {
        RunTransition.Start => "start",
        RunTransition.TakeOver => "take over",
        RunTransition.Succeed => "record success of",
        RunTransition.Fail => "record failure of",
        RunTransition.Skip => "skip",
        RunTransition.ScheduleRetry => "schedule a retry of",
        RunTransition.Wait => "make wait",
        RunTransition.Requeue => "re-queue",
        RunTransition.Cancel => "cancel",
        RunTransition.Reopen => "reopen",
        _ => transition.ToString(),
    };
}

/// <summary>What can happen to a workflow run.</summary>
public enum WorkflowRunTransition
{
    /// <summary>A step ended and says how the workflow run stands: succeeded, failed or skipped.</summary>
    Settle,
    /// <summary>Canceled through the API.</summary>
    Cancel,
    /// <summary>Its failed steps run again (<c>retry</c>, dead-letter replay).</summary>
    Reopen,
    /// <summary>An ended workflow run runs again from a step (<c>rerun</c>), as a new attempt.</summary>
    Rerun,
}

/// <summary>The workflow-run state machine, written once; a failed or canceled workflow run stays so until reopened.</summary>
public static class WorkflowRunLifecycle
{
    /// <summary>The statuses a step's outcome no longer changes: only <see cref="WorkflowRunTransition.Reopen"/> (failed) or cancel moves them.</summary>
    public static IReadOnlyList<WorkflowRunStatus> Closed { get; } = [WorkflowRunStatus.Failed, WorkflowRunStatus.Canceled];

    /// <summary>
    /// The statuses a workflow run settles to only once none of its runs is still open (<see cref="OpenRuns"/>): a
    /// branch still pending or running keeps it running, and the last branch to end settles it. A failure settles at once.
    /// </summary>
    public static IReadOnlyList<WorkflowRunStatus> AfterAllBranches { get; } = [WorkflowRunStatus.Succeeded, WorkflowRunStatus.Skipped];

    /// <summary>The runs that have not ended.</summary>
    public static IReadOnlyList<ActionRunStatus> OpenRuns { get; } =
        [ActionRunStatus.Pending, ActionRunStatus.Running, ActionRunStatus.Retrying, ActionRunStatus.Waiting];

    public static IReadOnlyList<(WorkflowRunTransition Transition, WorkflowRunStatus From, WorkflowRunStatus[] To)> Rules { get; } =
    [
        (WorkflowRunTransition.Settle, WorkflowRunStatus.Running, [WorkflowRunStatus.Succeeded, WorkflowRunStatus.Failed, WorkflowRunStatus.Skipped]),
        (WorkflowRunTransition.Settle, WorkflowRunStatus.Succeeded, [WorkflowRunStatus.Succeeded, WorkflowRunStatus.Failed, WorkflowRunStatus.Skipped]),
        (WorkflowRunTransition.Settle, WorkflowRunStatus.Skipped, [WorkflowRunStatus.Succeeded, WorkflowRunStatus.Failed, WorkflowRunStatus.Skipped]),
        (WorkflowRunTransition.Cancel, WorkflowRunStatus.Running, [WorkflowRunStatus.Canceled]),
        (WorkflowRunTransition.Cancel, WorkflowRunStatus.Failed, [WorkflowRunStatus.Canceled]),
        (WorkflowRunTransition.Reopen, WorkflowRunStatus.Failed, [WorkflowRunStatus.Running]),
        (WorkflowRunTransition.Rerun, WorkflowRunStatus.Succeeded, [WorkflowRunStatus.Running]),
        (WorkflowRunTransition.Rerun, WorkflowRunStatus.Failed, [WorkflowRunStatus.Running]),
        (WorkflowRunTransition.Rerun, WorkflowRunStatus.Skipped, [WorkflowRunStatus.Running]),
        (WorkflowRunTransition.Rerun, WorkflowRunStatus.Canceled, [WorkflowRunStatus.Running]),
    ];

    /// <summary>The statuses <paramref name="transition"/> applies to.</summary>
    public static WorkflowRunStatus[] From(WorkflowRunTransition transition) => [.. Rules.Where(r => r.Transition == transition).Select(r => r.From)];

    /// <summary>Whether <paramref name="transition"/> may take a workflow run from <paramref name="from"/> to <paramref name="to"/>; the refusal says why not.</summary>
    public static string? Refusal(WorkflowRunStatus from, WorkflowRunTransition transition, WorkflowRunStatus to)
    {
        foreach (var (t, f, targets) in Rules)
        {
            if (t == transition && f == from && targets.Contains(to))
            {
                return null;
            }
        }

        return transition switch
        {
            WorkflowRunTransition.Settle when Closed.Contains(from) => $"a {Name(from)} workflow run stays {Name(from)}",
            WorkflowRunTransition.Cancel => $"a {Name(from)} workflow run has already ended",
            WorkflowRunTransition.Reopen => $"a {Name(from)} workflow run has no failed step to retry; only failed workflow runs can be",
            WorkflowRunTransition.Rerun => $"a {Name(from)} workflow run has not ended; wait for it or cancel it first",
            _ => $"a {Name(from)} workflow run cannot become {Name(to)}",
        };
    }

    /// <summary>Whether a step's outcome may still change a workflow run in <paramref name="status"/>.</summary>
    public static bool Settles(WorkflowRunStatus status) => !Closed.Contains(status);

    public static string Name(WorkflowRunStatus status) => status.ToString().ToLowerInvariant();
}
