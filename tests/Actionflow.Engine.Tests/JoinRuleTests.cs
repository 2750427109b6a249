using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.FlowControl;
using static Actionflow.Engine.Tests.Fixtures;

namespace Actionflow.Engine.Tests;

/// <summary>When a join runs, is skipped or fails, and the arrivals the planner sends it.</summary>
public sealed class JoinRuleTests
{
    private static JoinSettings Join(JoinMode mode = JoinMode.All, PredecessorFailure onFailure = PredecessorFailure.Skip) => new([2, 3, 4], mode, onFailure);

    private static Arrival[] Arrived(params (long Id, ActionRunStatus Status)[] arrivals) => [.. arrivals.Select(a => new Arrival(a.Id, a.Status))];

    private const ActionRunStatus Ok = ActionRunStatus.Succeeded;
    private const ActionRunStatus Bad = ActionRunStatus.Failed;
    private const ActionRunStatus Off = ActionRunStatus.Skipped;

    [Fact]
    public void Decide_All_WaitsUntilEveryPredecessorSucceededThenRuns()
    {
        Assert.Equal(JoinVerdictKind.Wait, JoinRule.Decide(Join(), []).Kind);
        Assert.Equal(JoinVerdictKind.Wait, JoinRule.Decide(Join(), Arrived((2, Ok), (3, Ok))).Kind);
        Assert.Equal(JoinVerdictKind.Wait, JoinRule.Decide(Join(), Arrived((2, Ok), (2, Ok), (3, Ok))).Kind);
        Assert.Equal(JoinVerdictKind.Run, JoinRule.Decide(Join(), Arrived((4, Ok), (2, Ok), (3, Ok))).Kind);
    }

    [Fact]
    public void Decide_All_AFailedOrSkippedPredecessorDecidesAtOncePerTheSetting()
    {
        var skipped = JoinRule.Decide(Join(), Arrived((2, Ok), (3, Bad)));
        Assert.Equal((JoinVerdictKind.Skip, "join skipped: predecessor 3 failed"), (skipped.Kind, skipped.Reason));
        var failed = JoinRule.Decide(Join(onFailure: PredecessorFailure.Fail), Arrived((3, Off)));
        Assert.Equal((JoinVerdictKind.Fail, "join failed: predecessor 3 skipped"), (failed.Kind, failed.Reason));
    }

    [Fact]
    public void Decide_Any_RunsAtTheFirstSuccessAndIsDecidedAgainstOnlyWhenAllArrivedWithout()
    {
        Assert.Equal(JoinVerdictKind.Run, JoinRule.Decide(Join(JoinMode.Any), Arrived((3, Ok))).Kind);
        Assert.Equal(JoinVerdictKind.Run, JoinRule.Decide(Join(JoinMode.Any), Arrived((2, Bad), (3, Ok))).Kind);
        Assert.Equal(JoinVerdictKind.Wait, JoinRule.Decide(Join(JoinMode.Any), Arrived((2, Bad), (3, Off))).Kind);
        var none = JoinRule.Decide(Join(JoinMode.Any, PredecessorFailure.Fail), Arrived((2, Bad), (3, Off), (4, Bad)));
        Assert.Equal((JoinVerdictKind.Fail, "join failed: no predecessor succeeded (2 failed, 3 skipped, 4 failed)"), (none.Kind, none.Reason));
    }

    [Fact]
    public void Decide_ArrivalOfAStepThatIsNotAPredecessor_IsIgnored()
    {
        Assert.Equal(JoinVerdictKind.Wait, JoinRule.Decide(Join(), Arrived((2, Ok), (3, Ok), (9, Ok))).Kind);
        Assert.Equal(JoinVerdictKind.Wait, JoinRule.Decide(Join(), Arrived((9, Bad))).Kind);
    }

    private static readonly MatchedStep JoinStep = new(40, 3, "plain");
    private static readonly MatchedStep Branch = new(21, 3, "plain");

    private static Dictionary<long, StepFlow> Diamond(string? branchCondition = null) => new()
    {
        [11] = new StepFlow(11, null, false) { Feeds = [JoinStep] },
        [21] = (StepFlow.Compile(21, branchCondition, false, out _)!) with { Feeds = [JoinStep] },
        [40] = new StepFlow(40, null, false) { Join = new JoinSettings([11, 21], JoinMode.All, PredecessorFailure.Skip) },
    };

    [Fact]
    public void Plan_SuccessOfAPredecessor_SendsItsArrivalWithItsOutputInsteadOfARun()
    {
        var flows = Diamond();
        var output = new JsonObject { ["score"] = 2 };
        var plan = CompletionPlanner.Plan(
            new CompletionInput(Snapshot(), Trigger(), Run(), new StepOutcome(ActionRunStatus.Succeeded, output, null, null) { Declared = Plain }, "w1", Now, 0.5),
            _ => [JoinStep], id => flows.GetValueOrDefault(id));

        var arrival = Assert.Single(plan.Next).Join;
        Assert.NotNull(arrival);
        Assert.Equal((11L, ActionRunStatus.Succeeded, 2), (arrival.PredecessorId, arrival.Status, (int)arrival.Output!["score"]!));
        // The join's own run (if this arrival decides it) keeps the workflow run going.
        Assert.Equal(WorkflowRunStatus.Succeeded, plan.Completion.WorkflowRunStatus);
    }

    [Fact]
    public void Plan_FailureOfAPredecessor_SendsAFailedArrivalOnItsActionFailedEvent()
    {
        var flows = Diamond();
        var plan = CompletionPlanner.Plan(
            new CompletionInput(Snapshot(), Trigger(), Run(), StepOutcome.Fail("boom", ErrorTypes.ActionFailed), "w1", Now, 0.5),
            _ => [], id => flows.GetValueOrDefault(id));

        Assert.Equal("action_failed", plan.Emitted!.Kind);
        var arrival = Assert.Single(plan.Next);
        Assert.Equal((40L, 11L, ActionRunStatus.Failed), (arrival.ActionId, arrival.Join!.PredecessorId, arrival.Join.Status));
    }

    [Fact]
    public void Plan_BranchSkippedByItsCondition_ArrivesSkippedAtTheJoinItFeeds()
    {
        var flows = Diamond("previous.score > 5");
        var plan = CompletionPlanner.Plan(
            new CompletionInput(Snapshot(), Trigger(), Run(), new StepOutcome(ActionRunStatus.Succeeded, new JsonObject { ["score"] = 1 }, null, null) { Declared = Plain }, "w1", Now, 0.5),
            _ => [Branch], id => flows.GetValueOrDefault(id));

        Assert.Equal(2, plan.Next.Count);
        Assert.NotNull(plan.Next[0].SkipReason);
        Assert.Equal((40L, 21L, ActionRunStatus.Skipped), (plan.Next[1].ActionId, plan.Next[1].Join!.PredecessorId, plan.Next[1].Join!.Status));
    }
}
