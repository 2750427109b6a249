using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Api;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Actionflow.IntegrationTests.Time;

/// <summary>The delay action end to end: durable waits with no thread or timer each, through kills and cancels.</summary>
public sealed class DelayTests(ITestOutputHelper output)
{
    private static readonly JsonObject Uploaded = new() { ["event_name"] = "input_file_uploaded" };
    private static readonly JsonObject AfterPrevious = new() { ["event_name"] = "action_completed" };

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres, 10_000, 45)]
    [InlineData(PipelineMode.Embedded, 2_000, 30)]
    public async Task ManyConcurrentDelays_EachCompletesOnceAtItsTime_LatenessAndMemoryReported(PipelineMode mode, int count, int leadSeconds)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var worker = await pipeline.StartWorkerAsync();
        using var project = await TestProject.CreateAsync(worker);
        var (_, steps) = await TimeSetup.WorkflowAsync(project, "wait for due_at", true, ("delay", Uploaded, new JsonObject { ["until"] = "extra_metadata.due_at" }));
        await pipeline.WaitForDefinitionsAsync();
        var idleMb = worker.ResidentMegabytes();

        // Every run waits at once: due times spread over five seconds, well after the last event is in.
        var dueFrom = DateTime.UtcNow.AddSeconds(leadSeconds);
        var bodies = Enumerable.Range(1, count).Select(i =>
        {
            var ev = Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, fileId: i);
            ev["extra_metadata"] = new JsonObject { ["due_at"] = dueFrom.AddMilliseconds(i % 50 * 100).ToString("O", CultureInfo.InvariantCulture) };
            return Encoding.UTF8.GetBytes(ev.ToJsonString());
        }).ToList();
        await pipeline.PublishManyAsync(bodies);

        var waiting = 0;
        Assert.True(await Pipeline.EventuallyAsync(async () => (waiting = await CountAsync(pipeline, ActionRunStatus.Waiting)) == count, TimeSpan.FromSeconds(leadSeconds)),
            $"{waiting} of {count} delays were waiting before the first was due");
        var waitingMb = worker.ResidentMegabytes();
        var peakMb = waitingMb;
        Assert.True(await Pipeline.EventuallyAsync(async () =>
        {
            peakMb = Math.Max(peakMb, worker.ResidentMegabytes());
            return await CountAsync(pipeline, ActionRunStatus.Succeeded) == count;
        }, TimeSpan.FromSeconds(leadSeconds + 120)), "not every delay completed");

        var runs = await TimeSetup.RunsOfAsync(pipeline, steps[0]);
        var lateness = runs.Select(r => (r.FinishedAt!.Value - r.WaitedUntil!.Value).TotalMilliseconds).ToList();
        TimeReport.Write(output, string.Create(CultureInfo.InvariantCulture,
            $"TIME-DELAYS mode={mode} delays={count} late_p50_ms={TimeSetup.Percentile(lateness, 50):F0} late_p99_ms={TimeSetup.Percentile(lateness, 99):F0} late_max_ms={lateness.Max():F0} over_1s={lateness.Count(l => l > 1000)} early={lateness.Count(l => l < 0)} rss_idle_mb={idleMb:F0} rss_waiting_mb={waitingMb:F0} rss_peak_mb={peakMb:F0}"));
        Assert.Equal(count, runs.Count);
        Assert.Equal(count, runs.Select(r => r.EventId).Distinct().Count());
        Assert.All(runs, r => Assert.Equal((ActionRunStatus.Succeeded, 1), (r.Status, r.Attempt)));
        // Never before its time (the store's small allowance for clocks and timers aside).
        Assert.DoesNotContain(lateness, l => l < -100);
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task WaitingDelay_SurvivesAKillNineAndTheChainGoesOnOnce_WhileACanceledWorkflowRunEndsItsDelay(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var worker = await pipeline.StartWorkerAsync();
        using var project = await TestProject.CreateAsync(worker);
        var (_, chain) = await TimeSetup.WorkflowAsync(project, "wait then go on", true,
            ("delay", Uploaded, new JsonObject { ["duration"] = "8s" }), ("noop", AfterPrevious, null));
        var (_, held) = await TimeSetup.WorkflowAsync(project, "wait an hour", true,
            ("delay", Uploaded, new JsonObject { ["duration"] = "1h" }), ("noop", AfterPrevious, null));
        await pipeline.WaitForDefinitionsAsync();
        var emitted = await project.Editor.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 5 });
        ApiAssert.Ok(emitted, System.Net.HttpStatusCode.Accepted);
        Assert.True(await Pipeline.EventuallyAsync(async () =>
            (await TimeSetup.RunsOfAsync(pipeline, chain[0])).Any(r => r.Status == ActionRunStatus.Waiting)
            && (await TimeSetup.RunsOfAsync(pipeline, held[0])).Any(r => r.Status == ActionRunStatus.Waiting), TimeSpan.FromSeconds(30)), "the delays did not start waiting");

        worker.Kill();
        var restarted = await pipeline.StartWorkerAsync();
        var delay = Assert.Single(await TimeSetup.RunsOfAsync(pipeline, held[0]));
        using var editor = ApiClient.Basic(restarted, project.Keys["editor"].ClientId, project.Keys["editor"].Secret);
        var canceled = await editor.PostAsync(project.P($"workflow-runs/{delay.WorkflowRunId}/cancel"));
        ApiAssert.Ok(canceled);

        Assert.True(await Pipeline.EventuallyAsync(async () => (await TimeSetup.RunsOfAsync(pipeline, chain[1])).Any(r => r.Status == ActionRunStatus.Succeeded),
            TimeSpan.FromSeconds(60)), "the step after the delay did not run");
        var waited = Assert.Single(await TimeSetup.RunsOfAsync(pipeline, chain[0]));
        Assert.Equal((ActionRunStatus.Succeeded, 1), (waited.Status, waited.Attempt));
        Assert.True(waited.FinishedAt >= waited.WaitedUntil!.Value.AddMilliseconds(-100), $"finished {waited.FinishedAt:O}, due {waited.WaitedUntil:O}");
        Assert.Single(await TimeSetup.RunsOfAsync(pipeline, chain[1]));
        var ended = Assert.Single(await TimeSetup.RunsOfAsync(pipeline, held[0]));
        Assert.Equal(ActionRunStatus.Canceled, ended.Status);
        Assert.Empty(await TimeSetup.RunsOfAsync(pipeline, held[1]));
    }

    private static async Task<int> CountAsync(Pipeline pipeline, ActionRunStatus status)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        return await db.Set<ActionRun>().CountAsync(r => r.Status == status);
    }
}
