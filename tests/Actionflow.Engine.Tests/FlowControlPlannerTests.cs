using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.FlowControl;
using static Actionflow.Engine.Tests.Fixtures;

namespace Actionflow.Engine.Tests;

/// <summary>Conditions and else branches as the completion planner applies them, and the graph their edges form.</summary>
public sealed class FlowControlPlannerTests
{
    private static readonly MatchedStep Positive = new(21, 3, "plain");
    private static readonly MatchedStep Negative = new(22, 3, "plain");
    private static readonly MatchedStep Otherwise = new(23, 3, "plain");
    private static readonly MatchedStep Always = new(24, 3, "plain");

    private static StepFlow Flow(long id, string? condition = null, bool elseBranch = false) =>
        StepFlow.Compile(id, condition, elseBranch, out var errors) ?? throw new InvalidOperationException(string.Join("; ", errors));

    private static CompletionPlan PlanWith(JsonObject output, IReadOnlyDictionary<long, StepFlow> flows, params MatchedStep[] next) =>
        CompletionPlanner.Plan(
            new CompletionInput(Snapshot(), Trigger(), Run(), new StepOutcome(ActionRunStatus.Succeeded, output, null, null) { Declared = Plain }, "w1", Now, 0.5),
            _ => next, id => flows.GetValueOrDefault(id));

    private static readonly Dictionary<long, StepFlow> PositiveNegativeElse = new()
    {
        [21] = Flow(21, "previous.score > 0.8"),
        [22] = Flow(22, "previous.score < 0.2"),
        [23] = Flow(23, elseBranch: true),
    };

    [Theory]
    [InlineData(0.9, "21")]
    [InlineData(0.1, "22")]
    [InlineData(0.5, "23")]
    public void Plan_ConditionsOnSiblings_RunsTheOnesThatHoldAndSkipsTheOthersWithTheirCondition(double score, string runs)
    {
        var plan = PlanWith(new JsonObject { ["score"] = score }, PositiveNegativeElse, Positive, Negative, Otherwise, Always);

        Assert.Equal(4, plan.Next.Count);
        var ran = plan.Next.Where(n => n.SkipReason is null).Select(n => n.ActionId).ToList();
        Assert.Equal([long.Parse(runs, System.Globalization.CultureInfo.InvariantCulture), 24L], ran);
        foreach (var skipped in plan.Next.Where(n => n.SkipReason is not null))
        {
            var expected = skipped.ActionId switch
            {
                21 => "condition not met: previous.score > 0.8 (the expression is false)",
                22 => "condition not met: previous.score < 0.2 (the expression is false)",
                _ => "else branch: a sibling's condition held",
            };
            Assert.Equal(expected, skipped.SkipReason);
        }

        Assert.Null(plan.Completion.WorkflowRunStatus);
    }

    [Fact]
    public void Plan_ConditionFailingAtRuntime_SkipsWithTheErrorAndTheElseRuns()
    {
        var plan = PlanWith(new JsonObject { ["label"] = "cat" }, PositiveNegativeElse, Positive, Negative, Otherwise);

        var positive = plan.Next.Single(n => n.ActionId == 21);
        Assert.StartsWith("condition not met: previous.score > 0.8 (the expression failed at line 1, column", positive.SkipReason, StringComparison.Ordinal);
        Assert.Contains("score", positive.SkipReason, StringComparison.Ordinal);
        Assert.Null(plan.Next.Single(n => n.ActionId == 23).SkipReason);
    }

    [Fact]
    public void Plan_ConditionSeesTheEmittedEventAndStepsByPredecessor()
    {
        var flows = new Dictionary<long, StepFlow>
        {
            [21] = Flow(21, "event.kind == 'action_completed' && event.file_id == 5 && steps['11'].score == 3"),
            [22] = Flow(22, "event.extra_metadata.score == 4"),
        };

        var plan = PlanWith(new JsonObject { ["score"] = 3 }, flows, Positive, Negative);

        Assert.Null(plan.Next.Single(n => n.ActionId == 21).SkipReason);
        Assert.NotNull(plan.Next.Single(n => n.ActionId == 22).SkipReason);
    }

    [Fact]
    public void Plan_EveryNextStepSkipped_SucceedsTheWorkflowRun()
    {
        var plan = PlanWith(new JsonObject { ["score"] = 0.5 }, PositiveNegativeElse, Positive, Negative);

        Assert.All(plan.Next, n => Assert.NotNull(n.SkipReason));
        Assert.Equal(WorkflowRunStatus.Succeeded, plan.Completion.WorkflowRunStatus);
    }

    [Fact]
    public void Plan_FailedStep_AppliesNoCondition()
    {
        var plan = CompletionPlanner.Plan(
            new CompletionInput(Snapshot(), Trigger(), Run(), StepOutcome.Fail("boom", ErrorTypes.ActionFailed), "w1", Now, 0.5),
            _ => [Positive], id => PositiveNegativeElse.GetValueOrDefault(id));

        Assert.Equal([Positive], plan.Next);
        Assert.Equal(WorkflowRunStatus.Failed, plan.Completion.WorkflowRunStatus);
    }

    [Fact]
    public void Compile_ConditionWithAnUnknownVariableOrNotABool_GivesErrorsWithTheirPosition()
    {
        Assert.Null(StepFlow.Compile(1, "output.score > 1", false, out var unknown));
        Assert.Contains(unknown, e => e.Column == 1);
        Assert.Null(StepFlow.Compile(1, "previous.score + 1", false, out var notBool));
        Assert.NotEmpty(notBool);
        Assert.NotNull(StepFlow.Compile(1, "previous.score + 1", true, out _));
    }

    [Fact]
    public void Build_LinearDiffgramWorkflow_IsTheChainByOrdinal()
    {
        var graph = WorkflowGraph.Build(
        [
            new GraphStep(1, 0, "input_file_uploaded", []),
            new GraphStep(2, 1, "action_completed", []),
            new GraphStep(3, 2, "export_generate_success", []),
            new GraphStep(4, 3, "task_completed", []),
        ]);

        Assert.Equal([(1L, 2L, "sequence"), (2L, 3L, "sequence")], graph.Edges.Select(e => (e.From, e.To, e.Kind)));
        Assert.Empty(graph.Problems);
    }

    [Fact]
    public void Build_DependsOn_ReplacesTheImplicitEdge()
    {
        var graph = WorkflowGraph.Build(
        [
            new GraphStep(1, 0, "input_file_uploaded", []),
            new GraphStep(2, 1, "action_completed", [1]),
            new GraphStep(3, 2, "action_completed", [1]),
            new GraphStep(4, 3, "action_completed", []),
        ]);

        Assert.Equal([(1L, 2L, "depends_on"), (1L, 3L, "depends_on"), (3L, 4L, "sequence")], graph.Edges.Select(e => (e.From, e.To, e.Kind)));
        Assert.Equal([2L, 3L], graph.SuccessorsOf(1));
    }

    [Fact]
    public void Build_CycleSelfAndDanglingEdges_AreProblemsNamingTheStep()
    {
        var graph = WorkflowGraph.Build(
        [
            new GraphStep(1, 0, "input_file_uploaded", []),
            new GraphStep(2, 1, "action_completed", [3]),
            new GraphStep(3, 2, "action_completed", [2]),
            new GraphStep(4, 3, "action_completed", [4]),
            new GraphStep(5, 4, "action_completed", [99]),
        ]);

        Assert.Contains(graph.Problems, p => p.StepId == 2 && p.Message == "steps 2, 3 form a cycle");
        Assert.Contains(graph.Problems, p => p.StepId == 4 && p.Message.Contains("depend on itself", StringComparison.Ordinal));
        Assert.Contains(graph.Problems, p => p.StepId == 5 && p.Message.Contains("step 99", StringComparison.Ordinal));
    }
}
