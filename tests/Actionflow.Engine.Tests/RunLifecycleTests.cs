using Actionflow.Core.Domain;

namespace Actionflow.Engine.Tests;

public sealed class RunLifecycleTests
{
    private const ActionRunStatus Pending = ActionRunStatus.Pending;
    private const ActionRunStatus Running = ActionRunStatus.Running;
    private const ActionRunStatus Retrying = ActionRunStatus.Retrying;
    private const ActionRunStatus Waiting = ActionRunStatus.Waiting;
    private const ActionRunStatus Succeeded = ActionRunStatus.Succeeded;
    private const ActionRunStatus Failed = ActionRunStatus.Failed;
    private const ActionRunStatus Skipped = ActionRunStatus.Skipped;
    private const ActionRunStatus Canceled = ActionRunStatus.Canceled;

    /// <summary>The whole table, written out independently of it: (transition, from) → to; every pair not listed is refused.</summary>
    private static readonly Dictionary<(RunTransition, ActionRunStatus), ActionRunStatus> Allowed = new()
    {
        [(RunTransition.Start, Pending)] = Running,
        [(RunTransition.Start, Retrying)] = Running,
        [(RunTransition.Start, Waiting)] = Running,
        [(RunTransition.TakeOver, Running)] = Running,
        [(RunTransition.Succeed, Running)] = Succeeded,
        [(RunTransition.Fail, Running)] = Failed,
        [(RunTransition.Skip, Running)] = Skipped,
        [(RunTransition.ScheduleRetry, Running)] = Retrying,
        [(RunTransition.Wait, Running)] = Waiting,
        [(RunTransition.Requeue, Running)] = Pending,
        [(RunTransition.Cancel, Pending)] = Canceled,
        [(RunTransition.Cancel, Running)] = Canceled,
        [(RunTransition.Cancel, Retrying)] = Canceled,
        [(RunTransition.Cancel, Waiting)] = Canceled,
        [(RunTransition.Reopen, Failed)] = Pending,
    };

    public static TheoryData<RunTransition, ActionRunStatus> EveryPair()
    {
        var data = new TheoryData<RunTransition, ActionRunStatus>();
        foreach (var transition in Enum.GetValues<RunTransition>())
        {
            foreach (var status in Enum.GetValues<ActionRunStatus>())
            {
                data.Add(transition, status);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void Check_EveryTransitionFromEveryStatus_AllowedExactlyAsTheTableSays(RunTransition transition, ActionRunStatus from)
    {
        var move = RunLifecycle.Check(from, transition, new RunFacts(NextAttemptDue: true, LeaseExpired: true, HeldByCaller: true));

        if (Allowed.TryGetValue((transition, from), out var to))
        {
            Assert.True(move.Allowed, move.Refusal);
            Assert.Equal(to, move.To);
            Assert.Null(move.Refusal);
        }
        else
        {
            Assert.False(move.Allowed);
            Assert.Equal(from, move.To);
            Assert.Contains($"a {from.ToString().ToLowerInvariant()} run", move.Refusal, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(RunTransition.Start, ActionRunStatus.Retrying, "it is not due yet")]
    [InlineData(RunTransition.Start, ActionRunStatus.Waiting, "it is not due yet")]
    [InlineData(RunTransition.Wait, ActionRunStatus.Running, "the caller does not hold it")]
    [InlineData(RunTransition.TakeOver, ActionRunStatus.Running, "its lease has not run out")]
    [InlineData(RunTransition.Requeue, ActionRunStatus.Running, "its lease has not run out")]
    [InlineData(RunTransition.Succeed, ActionRunStatus.Running, "the caller does not hold it")]
    [InlineData(RunTransition.Fail, ActionRunStatus.Running, "the caller does not hold it")]
    [InlineData(RunTransition.Skip, ActionRunStatus.Running, "the caller does not hold it")]
    [InlineData(RunTransition.ScheduleRetry, ActionRunStatus.Running, "the caller does not hold it")]
    public void Check_GuardDoesNotHold_RefusedSayingWhich(RunTransition transition, ActionRunStatus from, string reason)
    {
        var move = RunLifecycle.Check(from, transition, new RunFacts());

        Assert.False(move.Allowed);
        Assert.Contains(reason, move.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_StartOfAPendingRun_NeedsNoFacts()
    {
        Assert.True(RunLifecycle.Check(Pending, RunTransition.Start).Allowed);
    }

    [Fact]
    public void Check_ReopenOfASucceededRun_RefusedNamingWhatCanBe()
    {
        var move = RunLifecycle.Check(Succeeded, RunTransition.Reopen);

        Assert.Equal("cannot reopen a succeeded run; only failed runs can be", move.Refusal);
    }

    [Fact]
    public void Apply_Reopen_ClearsOutputErrorFinishLeaseWorkerNextAttemptAndWaitButKeepsTheAttemptCount()
    {
        var run = new ActionRun
        {
            Id = 1, Kind = "noop", Status = Failed, Attempt = 3, Output = new() { ["x"] = 1 }, ErrorReason = "boom", ErrorType = "E",
            FinishedAt = DateTime.UnixEpoch, LeaseUntil = DateTime.UnixEpoch, WorkerId = "w", NextAttemptAt = DateTime.UnixEpoch, WaitedUntil = DateTime.UnixEpoch,
        };

        RunLifecycle.Apply(run, RunTransition.Reopen);

        Assert.Equal((Pending, 3), (run.Status, run.Attempt));
        Assert.Equal([null, null, null, null, null, null, null, null],
            new object?[] { run.Output, run.ErrorReason, run.ErrorType, run.FinishedAt, run.LeaseUntil, run.WorkerId, run.NextAttemptAt, run.WaitedUntil });
    }

    [Fact]
    public void Apply_Wait_ReleasesTheLeaseAndKeepsTheWorkerAndAttempt()
    {
        var run = new ActionRun { Id = 2, Kind = "delay", Status = Running, Attempt = 1, LeaseUntil = DateTime.UnixEpoch, WorkerId = "w" };

        RunLifecycle.Apply(run, RunTransition.Wait, new RunFacts(HeldByCaller: true));

        Assert.Equal((Waiting, 1, (DateTime?)null, "w"), (run.Status, run.Attempt, run.LeaseUntil, run.WorkerId));
    }

    [Fact]
    public void Apply_RefusedTransition_ThrowsAndLeavesTheRunAsItWas()
    {
        var run = new ActionRun { Id = 9, Kind = "noop", Status = Canceled, ErrorReason = "canceled" };

        var ex = Assert.Throws<InvalidOperationException>(() => RunLifecycle.Apply(run, RunTransition.Reopen));

        Assert.Contains("run 9", ex.Message, StringComparison.Ordinal);
        Assert.Equal((Canceled, "canceled"), (run.Status, run.ErrorReason));
    }

    [Theory]
    [InlineData(ActionRunStatus.Succeeded, RunTransition.Succeed)]
    [InlineData(ActionRunStatus.Failed, RunTransition.Fail)]
    [InlineData(ActionRunStatus.Skipped, RunTransition.Skip)]
    [InlineData(ActionRunStatus.Retrying, RunTransition.ScheduleRetry)]
    [InlineData(ActionRunStatus.Waiting, RunTransition.Wait)]
    public void Ending_AttemptOutcome_IsTheTransitionThatRecordsIt(ActionRunStatus outcome, RunTransition expected)
    {
        Assert.Equal(expected, RunLifecycle.Ending(outcome));
        Assert.Equal(outcome, RunLifecycle.To(expected));
    }

    [Fact]
    public void Ending_NotAnAttemptOutcome_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RunLifecycle.Ending(Pending));
    }
}

public sealed class WorkflowRunLifecycleTests
{
    public static TheoryData<WorkflowRunTransition, WorkflowRunStatus, WorkflowRunStatus, bool> Table()
    {
        var data = new TheoryData<WorkflowRunTransition, WorkflowRunStatus, WorkflowRunStatus, bool>();
        var settled = new[] { WorkflowRunStatus.Succeeded, WorkflowRunStatus.Failed, WorkflowRunStatus.Skipped };
        foreach (var from in Enum.GetValues<WorkflowRunStatus>())
        {
            foreach (var to in Enum.GetValues<WorkflowRunStatus>())
            {
                // A step's outcome settles a running, succeeded or skipped workflow run; a failed or canceled one stays so.
                data.Add(WorkflowRunTransition.Settle, from, to,
                    from is WorkflowRunStatus.Running or WorkflowRunStatus.Succeeded or WorkflowRunStatus.Skipped && settled.Contains(to));
                data.Add(WorkflowRunTransition.Cancel, from, to, from is WorkflowRunStatus.Running or WorkflowRunStatus.Failed && to == WorkflowRunStatus.Canceled);
                data.Add(WorkflowRunTransition.Reopen, from, to, from == WorkflowRunStatus.Failed && to == WorkflowRunStatus.Running);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void Refusal_EveryTransitionFromEveryStatusToEveryStatus_AllowedExactlyAsTheTableSays(
        WorkflowRunTransition transition, WorkflowRunStatus from, WorkflowRunStatus to, bool allowed)
    {
        var refusal = WorkflowRunLifecycle.Refusal(from, transition, to);

        Assert.Equal(allowed, refusal is null);
    }

    [Theory]
    [InlineData(WorkflowRunStatus.Failed, "a failed workflow run stays failed")]
    [InlineData(WorkflowRunStatus.Canceled, "a canceled workflow run stays canceled")]
    public void Refusal_SettlingAClosedWorkflowRun_SaysItStaysSo(WorkflowRunStatus from, string reason)
    {
        Assert.Equal(reason, WorkflowRunLifecycle.Refusal(from, WorkflowRunTransition.Settle, WorkflowRunStatus.Succeeded));
        Assert.False(WorkflowRunLifecycle.Settles(from));
    }
}
