using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.IntegrationTests.FlowControl;

public sealed class BranchTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task ConditionElseAndFanOut_EachEvent_RunsTheBranchThatHoldsSkipsTheOtherWithItsReasonAndEndsAfterEveryBranch(PipelineMode mode)
    {
        const int events = 60;
        await using var pipeline = await Pipeline.CreateAsync(mode);
        await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("branches");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "even or odd", true,
            ("noop", "input_file_uploaded", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null));
        var steps = await pipeline.StepsAsync(workflow.Id);
        var (a, even, odd, audit, afterOdd) = (steps[0].Id, steps[1].Id, steps[2].Id, steps[3].Id, steps[4].Id);
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            // A fans out to three: "even" with a condition, "odd" its else branch, "audit" always; "after odd" follows
            // the else branch by ordinal, as a Diffgram step would.
            var rows = await db.Set<WorkflowAction>().Where(s => s.WorkflowId == workflow.Id).ToDictionaryAsync(s => s.Id);
            rows[even].DependsOn = [a];
            rows[even].Condition = "event.file_id % 2 == 0 && previous.noop";
            rows[odd].DependsOn = [a];
            rows[odd].ElseBranch = true;
            rows[audit].DependsOn = [a];
            rows[afterOdd].DependsOn = [odd];
            await db.SaveChangesAsync();
        }

        await pipeline.WaitForDefinitionsAsync();
        await pipeline.PublishManyAsync([.. Enumerable.Range(1, events).Select(i =>
            Encoding.UTF8.GetBytes(Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, directoryId: 3, fileId: i).ToJsonString()))]);

        // Per event: A, audit, the branch taken (and after it, for odd) succeed; the other branch is skipped.
        const int expected = events * 4 + events / 2;
        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status.IsTerminal()) == expected, Patience),
            "runs: " + (await pipeline.RunsAsync()).Count(r => r.Status.IsTerminal()));
        await pipeline.WaitUntilSettledAsync();

        var runs = await pipeline.RunsAsync();
        Assert.Equal(expected, runs.Count);
        foreach (var group in runs.GroupBy(r => r.WorkflowRunId))
        {
            var byStep = group.ToDictionary(r => r.ActionId);
            var fileId = (await pipeline.EventsAsync()).Single(e => e.Id == byStep[a].EventId).FileId!.Value;
            Assert.Equal(ActionRunStatus.Succeeded, byStep[a].Status);
            Assert.Equal(ActionRunStatus.Succeeded, byStep[audit].Status);
            var (taken, skipped) = fileId % 2 == 0 ? (even, odd) : (odd, even);
            Assert.Equal(ActionRunStatus.Succeeded, byStep[taken].Status);
            Assert.Equal(ActionRunStatus.Skipped, byStep[skipped].Status);
            Assert.Equal(
                fileId % 2 == 0 ? "else branch: a sibling's condition held" : "condition not met: event.file_id % 2 == 0 && previous.noop (the expression is false)",
                byStep[skipped].ErrorReason);
            Assert.NotNull(byStep[skipped].FinishedAt);
            Assert.Equal(fileId % 2 == 1, byStep.ContainsKey(afterOdd));
        }

        // A workflow run ends once, after its last branch: its status is written no earlier than any run of it finished.
        await using var check = await pipeline.Contexts.CreateDbContextAsync();
        var workflowRuns = await check.Set<WorkflowRun>().ToListAsync();
        Assert.Equal(events, workflowRuns.Count);
        Assert.All(workflowRuns, w =>
        {
            Assert.Equal(WorkflowRunStatus.Succeeded, w.Status);
            Assert.True(w.TimeUpdated >= runs.Where(r => r.WorkflowRunId == w.Id).Max(r => r.FinishedAt!.Value).AddMilliseconds(-1),
                $"workflow run {w.Id} settled at {w.TimeUpdated:O} before its last branch ended");
        });
    }
}
