using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.IntegrationTests.FlowControl;

public sealed class FilterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task Filter_MatchingHalfTheEvents_CreatesExactlyHalfTheRunsAndNoOtherRows(PipelineMode mode)
    {
        const int events = 400;
        await using var pipeline = await Pipeline.CreateAsync(mode);
        await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("filters");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "high scores", true,
            ("noop", "input_file_uploaded", new JsonObject(),
                new JsonObject { ["filter"] = "event.extra_metadata.score > 0.8 && event.directory_id in [12, 14]" }),
            ("noop", "action_completed", new JsonObject(), new JsonObject { ["filter"] = "previous.noop && event.file_id % 2 == 0" }));
        await pipeline.WaitForDefinitionsAsync();

        // Even file ids score high; directories alternate 12 and 14; every fourth event also has no score at all
        // (a runtime error: the filter does not hold, the consumer goes on).
        var bodies = Enumerable.Range(1, events).Select(i =>
        {
            var ev = Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, directoryId: i % 4 < 2 ? 12 : 14, fileId: i);
            ev["extra_metadata"] = i % 4 == 3 ? new JsonObject { ["label"] = "cat" } : new JsonObject { ["score"] = i % 2 == 0 ? 0.9 : 0.3 };
            return Encoding.UTF8.GetBytes(ev.ToJsonString());
        }).ToList();
        bodies.Add(Encoding.UTF8.GetBytes(Pipeline.DiffgramEvent(events + 1, "input_file_uploaded", project.Id, directoryId: 13, fileId: 2).ToJsonString()));
        await pipeline.PublishManyAsync(bodies);

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.EventsAsync()).Count(e => e.Kind == "input_file_uploaded") == events + 1, Patience),
            "every event should be recorded");
        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status == ActionRunStatus.Succeeded) == events, Patience),
            "two steps for each of the half that matches");
        await pipeline.WaitUntilSettledAsync();

        var runs = await pipeline.RunsAsync();
        Assert.Equal(events, runs.Count);
        var recorded = (await pipeline.EventsAsync()).ToDictionary(e => e.Id);
        var firstSteps = runs.Where(r => recorded[r.EventId].Kind == "input_file_uploaded").ToList();
        Assert.Equal(events / 2, firstSteps.Count);
        Assert.All(firstSteps, r => Assert.Equal(0, recorded[r.EventId].FileId % 2));
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        Assert.Equal(events / 2, await db.Set<WorkflowRun>().CountAsync(w => w.WorkflowId == workflow.Id && w.Status == WorkflowRunStatus.Succeeded));
        Assert.Equal(events / 2, await db.Set<WorkflowRun>().CountAsync());
    }
}
