using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class RunClaimTests(IDatabaseHost host) : StorageTestBase(host)
{
    [Fact]
    public async Task ClaimRunAsync_FirstClaim_CreatesWorkflowRunAndClaimsAttemptOne()
    {
        var (ev, flow) = await EventAndFlowAsync();

        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);

        Assert.Equal(RunClaimState.Claimed, claim.State);
        var run = claim.Run;
        Assert.Equal((ActionRunStatus.Running, 1, "w1"), (run.Status, run.Attempt, run.WorkerId));
        Assert.Equal((T0, T0, T0.AddMinutes(5)), (run.TimeCreated, run.StartedAt, run.LeaseUntil));
        Assert.Equal((ev.Id, flow.ActionIds[0], flow.WorkflowId, ev.ProjectId, "webhook"), (run.EventId, run.ActionId, run.WorkflowId, run.ProjectId, run.Kind));
        await using var db = await Db.ContextAsync();
        var workflowRun = await db.WorkflowRuns.AsNoTracking().SingleAsync();
        Assert.Equal((workflowRun.Id, ev.Id, flow.WorkflowId, WorkflowRunStatus.Running), (run.WorkflowRunId, workflowRun.RootEventId, workflowRun.WorkflowId, workflowRun.Status));
    }

    [Fact]
    public async Task ClaimRunAsync_LiveLeaseHeldByOther_ReturnsHeldElsewhereWithHolder()
    {
        var (ev, flow) = await EventAndFlowAsync();
        await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);

        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w2", T0.AddMinutes(1)), default);

        Assert.Equal(RunClaimState.HeldElsewhere, claim.State);
        Assert.Equal(("w1", T0.AddMinutes(5), 1), (claim.Run.WorkerId, claim.Run.LeaseUntil, claim.Run.Attempt));
    }

    [Fact]
    public async Task ClaimRunAsync_AfterLeaseExpiry_ClaimsAgainWithAttemptTwo()
    {
        var (ev, flow) = await EventAndFlowAsync();
        var first = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);

        var second = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w2", T0.AddMinutes(5)), default);

        Assert.Equal(RunClaimState.Claimed, second.State);
        Assert.Equal((first.Run.Id, 2, "w2", T0.AddMinutes(10)), (second.Run.Id, second.Run.Attempt, second.Run.WorkerId, second.Run.LeaseUntil));
        Assert.False((await Pipeline.CompleteRunAsync(
            new RunCompletion(first.Run.Id, "w1", ActionRunStatus.Succeeded, null, null, null, T0.AddMinutes(6), null), null, [], default)).Recorded);
    }

    [Fact]
    public async Task ClaimRunAsync_TerminalRun_ReturnsAlreadyTerminal()
    {
        var (ev, flow) = await EventAndFlowAsync();
        var first = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        await Pipeline.CompleteRunAsync(new RunCompletion(first.Run.Id, "w1", ActionRunStatus.Skipped, null, null, null, T0, null), null, [], default);

        var again = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0.AddHours(1)), default);

        Assert.Equal(RunClaimState.AlreadyTerminal, again.State);
        Assert.Equal((ActionRunStatus.Skipped, 1), (again.Run.Status, again.Run.Attempt));
    }

    [Fact]
    public async Task ClaimRunAsync_CanceledRun_ReturnsAlreadyTerminal()
    {
        var (ev, flow) = await EventAndFlowAsync();
        var first = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        await using (var db = await Db.ContextAsync())
        {
            await db.ActionRuns.Where(r => r.Id == first.Run.Id).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, ActionRunStatus.Canceled));
        }

        var again = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w2", T0.AddHours(1)), default);

        Assert.Equal(RunClaimState.AlreadyTerminal, again.State);
        Assert.Equal(ActionRunStatus.Canceled, again.Run.Status);
        Assert.False((await Pipeline.CompleteRunAsync(
            new RunCompletion(first.Run.Id, "w1", ActionRunStatus.Succeeded, null, null, null, T0.AddMinutes(1), WorkflowRunStatus.Succeeded), null, [], default)).Recorded);
    }

    [Fact]
    public async Task ClaimRunAsync_NewStepOfCanceledWorkflowRun_RecordedCanceledNotRun()
    {
        var (ev, flow) = await EventAndFlowAsync(new Step(0), new Step(1));
        var first = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        await using (var db = await Db.ContextAsync())
        {
            await db.WorkflowRuns.Where(w => w.Id == first.Run.WorkflowRunId).ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowRunStatus.Canceled));
        }

        var next = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[1], flow.WorkflowId, "w1", T0.AddMinutes(1)), default);

        Assert.Equal(RunClaimState.AlreadyTerminal, next.State);
        Assert.Equal((ActionRunStatus.Canceled, 0, first.Run.WorkflowRunId), (next.Run.Status, next.Run.Attempt, next.Run.WorkflowRunId));
    }

    [Fact]
    public async Task ClaimRunAsync_TwentyParallelClaims_ExactlyOneClaimed()
    {
        var (ev, flow) = await EventAndFlowAsync();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            await gate.Task;
            return await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, $"w{i}", T0), default);
        })).ToList();

        gate.SetResult();
        var results = await Task.WhenAll(pending);

        var winner = Assert.Single(results, c => c.State == RunClaimState.Claimed);
        Assert.Equal(1, winner.Run.Attempt);
        Assert.All(results.Where(c => c != winner), c =>
        {
            Assert.Equal(RunClaimState.HeldElsewhere, c.State);
            Assert.Equal(winner.Run.WorkerId, c.Run.WorkerId);
        });
        await using var db = await Db.ContextAsync();
        Assert.Equal(1, await db.ActionRuns.CountAsync());
        Assert.Equal(1, await db.WorkflowRuns.CountAsync());

        var retry = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "late", T0.AddMinutes(6)), default);
        Assert.Equal((RunClaimState.Claimed, 2), (retry.State, retry.Run.Attempt));
    }

    [Fact]
    public async Task ClaimRunAsync_ParallelClaimsOfDifferentStepsOfOneEvent_ShareOneWorkflowRun()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: Enumerable.Range(0, 8).Select(i => new Step(0, Kind: $"k{i}")).ToArray());

        var claims = await Task.WhenAll(flow.ActionIds.Select(actionId =>
            Task.Run(() => Pipeline.ClaimRunAsync(ClaimRequest(ev, actionId, flow.WorkflowId, "w", T0), default))));

        Assert.All(claims, c => Assert.Equal(RunClaimState.Claimed, c.State));
        Assert.Single(claims.Select(c => c.Run.WorkflowRunId).Distinct());
    }

    [Fact]
    public async Task ClaimRunAsync_EventFromRunOfSameWorkflow_JoinsThatWorkflowRun()
    {
        var (root, flow) = await EventAndFlowAsync(new Step(0), new Step(1, "action_completed"));
        var first = await Pipeline.ClaimRunAsync(ClaimRequest(root, flow.ActionIds[0], flow.WorkflowId, "w", T0), default);
        var (next, _) = await Pipeline.AcceptEventAsync(NewEvent(1, "action_completed", workflowRunId: first.Run.WorkflowRunId), [], default);

        var second = await Pipeline.ClaimRunAsync(ClaimRequest(next, flow.ActionIds[1], flow.WorkflowId, "w", T0), default);

        Assert.Equal(first.Run.WorkflowRunId, second.Run.WorkflowRunId);
    }

    [Fact]
    public async Task ClaimRunAsync_EventFromRunOfOtherWorkflow_StartsOwnWorkflowRun()
    {
        var (root, flow) = await EventAndFlowAsync();
        var other = await SeedWorkflowAsync(1, steps: new Step(0, "action_completed"));
        var first = await Pipeline.ClaimRunAsync(ClaimRequest(root, flow.ActionIds[0], flow.WorkflowId, "w", T0), default);
        var (next, _) = await Pipeline.AcceptEventAsync(NewEvent(1, "action_completed", workflowRunId: first.Run.WorkflowRunId), [], default);

        var second = await Pipeline.ClaimRunAsync(ClaimRequest(next, other.ActionIds[0], other.WorkflowId, "w", T0), default);

        Assert.NotEqual(first.Run.WorkflowRunId, second.Run.WorkflowRunId);
        await using var db = await Db.ContextAsync();
        var run = await db.WorkflowRuns.AsNoTracking().SingleAsync(w => w.Id == second.Run.WorkflowRunId);
        Assert.Equal((next.Id, other.WorkflowId), (run.RootEventId, run.WorkflowId));
    }

    private async Task<(Event Event, SeededWorkflow Flow)> EventAndFlowAsync(params Step[] steps)
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: steps.Length == 0 ? [new Step(0)] : steps);
        return (ev, flow);
    }
}
