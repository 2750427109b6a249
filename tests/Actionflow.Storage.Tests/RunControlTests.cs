using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class RunControlTests(IDatabaseHost host) : StorageTestBase(host)
{
    private IRunControl Control => Db.Get<IRunControl>();

    [Fact]
    public async Task ReplayDeadLetterAsync_TriggerOfAFailedRun_ReopensItExactlyAsRetryDoes()
    {
        var replayed = await FailedRunAsync();
        var retried = await FailedRunAsync();
        var letter = await DeadLetterAsync(replayed);

        var replay = await Control.ReplayDeadLetterAsync(1, letter, T0.AddMinutes(1), default);
        var retry = await Control.RetryWorkflowRunAsync(1, retried.WorkflowRunId, T0.AddMinutes(1), default);

        Assert.Equal((true, QueueNames.ActionTriggers, (long?)replayed.Id), (replay.Found, replay.Queue, replay.ReopenedRunId));
        Assert.Equal((RunControlOutcome.Done, 1), (retry.Outcome, retry.Changed));
        await using var db = await Db.ContextAsync();
        var runs = await db.ActionRuns.AsNoTracking().Where(r => r.Id == replayed.Id || r.Id == retried.Id).OrderBy(r => r.Id).ToListAsync();
        Assert.All(runs, run =>
        {
            // What a reopened run looks like: pending, its attempts kept, nothing left of the failed attempt but its record.
            Assert.Equal((ActionRunStatus.Pending, 1), (run.Status, run.Attempt));
            Assert.Equal([null, null, null, null, null, null, null],
                new object?[] { run.Output, run.ErrorReason, run.ErrorType, run.FinishedAt, run.LeaseUntil, run.WorkerId, run.NextAttemptAt });
        });
        var workflowRuns = await db.WorkflowRuns.AsNoTracking().Where(w => w.Id == replayed.WorkflowRunId || w.Id == retried.WorkflowRunId).ToListAsync();
        Assert.All(workflowRuns, w => Assert.Equal(WorkflowRunStatus.Running, w.Status));
        var triggers = (await db.OutboxMessages.AsNoTracking().ToListAsync()).Select(m => TriggerMessage.TryParse(m.Body, out _)!).ToList();
        Assert.Equal([replayed.Id, retried.Id], triggers.Select(t => t.RunId!.Value).Order());
        Assert.Empty(await db.DeadLetters.AsNoTracking().ToListAsync());
    }

    [Fact]
    public async Task ReplayDeadLetterAsync_OtherProjectsLetter_NotFoundAndKept()
    {
        var run = await FailedRunAsync();
        var letter = await DeadLetterAsync(run);

        var replay = await Control.ReplayDeadLetterAsync(2, letter, T0, default);

        Assert.False(replay.Found);
        await using var db = await Db.ContextAsync();
        Assert.Single(await db.DeadLetters.AsNoTracking().ToListAsync());
    }

    [Fact]
    public async Task ReplayDeadLetterAsync_RunNoLongerFailed_RequeuesTheMessageWithoutReopening()
    {
        var run = await FailedRunAsync();
        var letter = await DeadLetterAsync(run);
        await Control.RetryWorkflowRunAsync(1, run.WorkflowRunId, T0, default);

        var replay = await Control.ReplayDeadLetterAsync(null, letter, T0, default);

        Assert.Equal((true, (long?)null), (replay.Found, replay.ReopenedRunId));
        await using var db = await Db.ContextAsync();
        Assert.Equal(2, await db.OutboxMessages.CountAsync());
    }

    [Fact]
    public async Task RetryWorkflowRunAsync_SecondRetry_RefusedWithTheReason()
    {
        var run = await FailedRunAsync();
        await Control.RetryWorkflowRunAsync(1, run.WorkflowRunId, T0, default);

        var again = await Control.RetryWorkflowRunAsync(1, run.WorkflowRunId, T0, default);

        Assert.Equal(RunControlOutcome.Refused, again.Outcome);
        Assert.Equal("a running workflow run has no failed step to retry; only failed workflow runs can be", again.Refusal);
    }

    [Fact]
    public async Task CancelWorkflowRunAsync_RunningWorkflowRun_CancelsItsOpenStepsThenRefusesASecondCancel()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1)]);
        var held = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[1], flow.WorkflowId, "w1", T0), default);

        var canceled = await Control.CancelWorkflowRunAsync(1, held.Run.WorkflowRunId, "canceled through the API", T0.AddSeconds(1), default);
        var again = await Control.CancelWorkflowRunAsync(1, held.Run.WorkflowRunId, "canceled through the API", T0.AddSeconds(2), default);

        Assert.Equal((RunControlOutcome.Done, 2), (canceled.Outcome, canceled.Changed));
        Assert.Equal((RunControlOutcome.Refused, "a canceled workflow run has already ended"), (again.Outcome, again.Refusal));
        // The worker still running the first step finds it canceled and its result is discarded.
        Assert.False((await Pipeline.CompleteRunAsync(
            new RunCompletion(held.Run.Id, "w1", ActionRunStatus.Succeeded, null, null, null, T0.AddSeconds(3), WorkflowRunStatus.Succeeded), null, [], default)).Recorded);
        await using var db = await Db.ContextAsync();
        Assert.All(await db.ActionRuns.AsNoTracking().ToListAsync(), r => Assert.Equal((ActionRunStatus.Canceled, "canceled through the API", (DateTime?)null), (r.Status, r.ErrorReason, r.LeaseUntil)));
        Assert.Equal(WorkflowRunStatus.Canceled, (await db.WorkflowRuns.AsNoTracking().SingleAsync()).Status);
    }

    [Fact]
    public async Task RetryWorkflowRunAsync_UnknownWorkflowRun_NotFound()
    {
        Assert.Equal(RunControlOutcome.NotFound, (await Control.RetryWorkflowRunAsync(1, 999_999, T0, default)).Outcome);
    }

    /// <summary>A run that failed on its first attempt, with output, error and lease as a worker left them.</summary>
    private async Task<ActionRun> FailedRunAsync()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: new Step(0));
        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        var recorded = await Pipeline.CompleteRunAsync(
            new RunCompletion(claim.Run.Id, "w1", ActionRunStatus.Failed, new JsonObject { ["status_code"] = 500 }, "HTTP 500", "ActionFailed", T0, WorkflowRunStatus.Failed),
            null, [], default);
        Assert.True(recorded.Recorded);
        await using var db = await Db.ContextAsync();
        return await db.ActionRuns.AsNoTracking().SingleAsync(r => r.Id == claim.Run.Id);
    }

    private async Task<long> DeadLetterAsync(ActionRun run)
    {
        await using var db = await Db.ContextAsync();
        var letter = new DeadLetter
        {
            ProjectId = run.ProjectId,
            Queue = QueueNames.ActionTriggers,
            Body = new TriggerMessage(run.EventId, run.ActionId, run.ProjectId, run.Id).ToBytes(),
            Reason = "failed after 3 attempts: HTTP 500",
            Deliveries = 1,
            TimeCreated = T0,
        };
        db.DeadLetters.Add(letter);
        await db.SaveChangesAsync();
        return letter.Id;
    }
}
