using System.Net;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Api;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.FlowControl;

public sealed class RerunTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task Rerun_FromStepTwoWithAnEditedInput_RunsStepsTwoToFourOnlyAsAttemptTwo(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var worker = await pipeline.StartWorkerAsync();
        using var project = await TestProject.CreateAsync(worker);
        var client = project.Editor;
        var workflowId = (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "rerun" })).Json["workflow"]!["id"]!;
        var steps = new List<long>();
        foreach (var eventName in (string[])["input_file_uploaded", "action_completed", "action_completed", "action_completed"])
        {
            var step = await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"),
                new JsonObject { ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = eventName } });
            ApiAssert.Ok(step);
            steps.Add((long)step.Json["action"]!["id"]!);
        }

        ApiAssert.Ok(await client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));
        ApiAssert.Ok(await client.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 8 }), HttpStatusCode.Accepted);
        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync(project.Id)).Count(r => r.Status == ActionRunStatus.Succeeded) == 4, Patience));
        var workflowRunId = (await pipeline.RunsAsync(project.Id)).Select(r => r.WorkflowRunId).Distinct().Single();
        Assert.True(await Pipeline.EventuallyAsync(async () =>
            (string?)(await client.GetAsync(project.P($"workflow-runs/{workflowRunId}"))).Json["workflow_run"]!["status"] == "succeeded", Patience));

        var missing = await client.PostAsync(project.P($"workflow-runs/{workflowRunId}/rerun"), new JsonObject { ["from_action_id"] = 999_999 });
        ApiAssert.Problem(missing, HttpStatusCode.BadRequest, "from_action_id");
        ApiAssert.Problem(await client.PostAsync(project.P($"workflow-runs/{workflowRunId}/rerun"), new JsonObject()), HttpStatusCode.BadRequest, "from_action_id");

        var edited = new JsonObject { ["noop"] = true, ["label"] = "edited" };
        var rerun = await client.PostAsync(project.P($"workflow-runs/{workflowRunId}/rerun"), new JsonObject { ["from_action_id"] = steps[1], ["input"] = edited });
        ApiAssert.Ok(rerun, HttpStatusCode.Accepted);
        Assert.Equal(2, (int)rerun.Json["attempt"]!);

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync(project.Id)).Count(r => r.Status == ActionRunStatus.Succeeded) == 7, Patience),
            "steps 2..4 should run again: " + string.Join(", ", (await pipeline.RunsAsync(project.Id)).Select(r => $"{r.ActionId}:{r.Status}")));
        Assert.True(await Pipeline.EventuallyAsync(async () =>
            (string?)(await client.GetAsync(project.P($"workflow-runs/{workflowRunId}"))).Json["workflow_run"]!["status"] == "succeeded", Patience));
        var runs = await pipeline.RunsAsync(project.Id);
        Assert.Equal([1, 2, 2, 2], steps.Select(s => runs.Count(r => r.ActionId == s)));
        Assert.All(runs, r => Assert.Equal(workflowRunId, r.WorkflowRunId));

        var detail = (await client.GetAsync(project.P($"workflow-runs/{workflowRunId}"))).Json["workflow_run"]!;
        Assert.Equal(2, (int)detail["attempt"]!);
        Assert.Equal([1, 1, 1, 1, 2, 2, 2], detail["action_runs"]!.AsArray().Select(r => (int)r!["workflow_attempt"]!));
        var rerunStep = detail["action_runs"]![4]!;
        Assert.Equal(steps[1], (long)rerunStep["action_id"]!);

        var events = await pipeline.EventsAsync();
        var input = events.Single(e => e.Id == (long)rerunStep["event_id"]!);
        Assert.Equal(edited.ToJsonString(), input.ExtraMetadata.ToJsonString());
        Assert.Equal(steps[0], input.ActionId);
        Assert.Equal(8, input.FileId);
    }
}
