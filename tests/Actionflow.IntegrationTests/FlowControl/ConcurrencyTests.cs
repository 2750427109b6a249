using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Actionflow.IntegrationTests.FlowControl;

/// <summary>
/// Concurrency limits across workers: runs over the limit wait in the database (status waiting, with the reason) and
/// start when a slot frees; checked from the recorded start (the slot's time) and finish of every run.
/// </summary>
public sealed class ConcurrencyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres, 2)]
    [InlineData(PipelineMode.Embedded, 1)]
    public async Task Concurrency_OnePerFileOver500Events_NoTwoRunsOfAFileOverlapAndAllFinish(PipelineMode mode, int workerCount)
    {
        const int events = 500;
        const int files = 10;
        await using var receiver = await WebhookReceiver.StartAsync("concurrency");
        await using var pipeline = await Pipeline.CreateAsync(mode);
        for (var i = 0; i < workerCount; i++)
        {
            await pipeline.StartWorkerAsync();
        }

        var project = await pipeline.CreateProjectAsync("per-file");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "one per file", true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url("pause/file") }, null));
        var step = (await pipeline.StepsAsync(workflow.Id)).Single().Id;
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            var row = await db.Set<WorkflowAction>().SingleAsync(a => a.Id == step);
            (row.ConcurrencyKey, row.ConcurrencyLimit) = ("event.file_id", 1);
            await db.SaveChangesAsync();
        }

        await pipeline.WaitForDefinitionsAsync();
        var load = pipeline.PublishManyAsync([.. Enumerable.Range(1, events).Select(i =>
            Encoding.UTF8.GetBytes(Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, fileId: 1 + (i % files)).ToJsonString()))]);

        // While the load runs, runs of a busy file wait in the database with the reason.
        string? reason = null;
        Assert.True(await Pipeline.EventuallyAsync(async () =>
        {
            await using var db = await pipeline.Contexts.CreateDbContextAsync();
            reason = await db.Set<ActionRun>().Where(r => r.ActionId == step && r.Status == ActionRunStatus.Waiting && r.ErrorReason != null)
                .Select(r => r.ErrorReason).FirstOrDefaultAsync();
            return reason is not null;
        }, Patience), "runs over the limit should be recorded waiting");
        Assert.Matches(@"^waiting: key \d+ has 1 of 1 runs running$", reason);

        await load;
        var finished = await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync(project.Id)).Count(r => r.Status == ActionRunStatus.Succeeded) >= events, Patience);
        var runs = await pipeline.RunsAsync(project.Id);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"concurrency mode={mode} workers={workerCount} runs={runs.Count} succeeded={runs.Count(r => r.Status == ActionRunStatus.Succeeded)}"));
        Assert.True(finished, string.Join("; ", runs.Where(r => r.Status != ActionRunStatus.Succeeded).Take(20).Select(r => $"{r.Id} {r.Status} {r.ErrorReason}")));
        await pipeline.WaitUntilSettledAsync();

        runs = await pipeline.RunsAsync(project.Id);
        Assert.Equal(events, runs.Count);
        Assert.All(runs, r => Assert.Equal(ActionRunStatus.Succeeded, r.Status));
        Assert.All(runs, r => Assert.NotNull(r.AdmittedAt));
        var eventsById = (await pipeline.EventsAsync()).ToDictionary(e => e.Id);
        var byFile = runs.GroupBy(r => eventsById[r.EventId].FileId).ToList();
        Assert.Equal(files, byFile.Count);
        foreach (var file in byFile)
        {
            Assert.All(file, r => Assert.Equal(file.Key!.Value.ToString(CultureInfo.InvariantCulture), r.ConcurrencyKey));
            Assert.Equal(0, MaxOverlap(file));
        }

        var deliveries = receiver.Deliveries.Where(d => d.Path.StartsWith("/pause/file", StringComparison.Ordinal)).ToList();
        var twice = deliveries.GroupBy(d => d.WebhookId).Where(g => g.Count() > 1).Select(g => $"{g.Key} x{g.Count()} at {string.Join(", ", g.Select(d => d.ReceivedAt.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)))}").ToList();
        Assert.True(deliveries.Count == events, $"{deliveries.Count} deliveries; twice: {string.Join("; ", twice)}; runs with attempt > 1: "
            + string.Join("; ", runs.Where(r => r.Attempt > 1).Select(r => $"{r.Id} attempt {r.Attempt} started {r.StartedAt:HH:mm:ss.fff} worker {r.WorkerId}")));
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres, 2)]
    [InlineData(PipelineMode.Embedded, 1)]
    public async Task Concurrency_WorkflowLimitOfTwo_NeverMoreThanTwoStepRunsAtOnce(PipelineMode mode, int workerCount)
    {
        const int events = 100;
        await using var receiver = await WebhookReceiver.StartAsync("concurrency");
        await using var pipeline = await Pipeline.CreateAsync(mode);
        for (var i = 0; i < workerCount; i++)
        {
            await pipeline.StartWorkerAsync();
        }

        var project = await pipeline.CreateProjectAsync("per-workflow");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "two at once", true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url("pause/first") }, null),
            ("Webhook", "action_completed", new JsonObject { ["url"] = receiver.Url("pause/second") }, null));
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            var row = await db.Set<Workflow>().SingleAsync(w => w.Id == workflow.Id);
            row.ConcurrencyLimit = 2;
            await db.SaveChangesAsync();
        }

        await pipeline.WaitForDefinitionsAsync();
        var load = pipeline.PublishManyAsync([.. Enumerable.Range(1, events).Select(i =>
            Encoding.UTF8.GetBytes(Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, fileId: i).ToJsonString()))]);

        string? reason = null;
        Assert.True(await Pipeline.EventuallyAsync(async () =>
        {
            await using var db = await pipeline.Contexts.CreateDbContextAsync();
            reason = await db.Set<ActionRun>().Where(r => r.WorkflowId == workflow.Id && r.Status == ActionRunStatus.Waiting && r.ErrorReason != null)
                .Select(r => r.ErrorReason).FirstOrDefaultAsync();
            return reason is not null;
        }, Patience), "runs over the workflow's limit should be recorded waiting");
        Assert.Equal("waiting: the workflow has 2 of 2 runs running", reason);

        await load;
        var finished = await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync(project.Id)).Count(r => r.Status == ActionRunStatus.Succeeded) >= 2 * events, Patience);
        var runs = await pipeline.RunsAsync(project.Id);
        Assert.True(finished, string.Join("; ", runs.Where(r => r.Status != ActionRunStatus.Succeeded).Take(20).Select(r => $"{r.Id} {r.Status} {r.ErrorReason}")));
        await pipeline.WaitUntilSettledAsync();

        runs = await pipeline.RunsAsync(project.Id);
        Assert.Equal(2 * events, runs.Count);
        Assert.All(runs, r => Assert.Equal(ActionRunStatus.Succeeded, r.Status));
        // MaxOverlap counts the runs beside one: at most one other at any time.
        Assert.InRange(MaxOverlap(runs), 0, 1);
        await using var check = await pipeline.Contexts.CreateDbContextAsync();
        Assert.Equal(events, await check.Set<WorkflowRun>().CountAsync(w => w.WorkflowId == workflow.Id && w.Status == WorkflowRunStatus.Succeeded));
    }

    /// <summary>The most runs that were running beside another at one instant (0: none ever overlapped), from started/finished times.</summary>
    private static int MaxOverlap(IEnumerable<ActionRun> runs)
    {
        var edges = runs.SelectMany(r => new[] { (At: r.StartedAt!.Value, Delta: 1), (At: r.FinishedAt!.Value, Delta: -1) })
            // A run finishing at the instant another starts does not overlap it.
            .OrderBy(e => e.At).ThenBy(e => e.Delta);
        int running = 0, most = 0;
        foreach (var (_, delta) in edges)
        {
            running += delta;
            most = Math.Max(most, running);
        }

        return most - 1;
    }
}
