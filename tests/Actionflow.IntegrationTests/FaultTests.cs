using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace Actionflow.IntegrationTests;

public sealed class FaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.DiffgramCompatible)]
    [InlineData(PipelineMode.Embedded)]
    public async Task MalformedMessage_IsDeadLetteredWithReason_AndNextEventIsProcessed(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("poison");
        await pipeline.CreateWorkflowAsync(project.Id, "after poison", true, ("noop", "input_file_uploaded", new JsonObject(), null));
        await pipeline.WaitForDefinitionsAsync();

        await pipeline.PublishRawAsync(Encoding.UTF8.GetBytes("{\"kind\": \"input_file_uploaded\", \"project_id\": "));
        await pipeline.PublishRawAsync(Encoding.UTF8.GetBytes("{\"project_id\": 1}"));
        await pipeline.PublishAsync(Pipeline.DiffgramEvent(7, "input_file_uploaded", project.Id));

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Any(r => r.Status == ActionRunStatus.Succeeded), Patience));
        var reasons = await DeadLetterReasonsAsync(pipeline, expected: 2);
        Assert.Equal(2, reasons.Count);
        Assert.Contains(reasons, r => r.Contains("not valid JSON", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("'kind' is required", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BrokerRestart_WhileIdle_NextEventIsProcessedWithoutRestartingActionflow()
    {
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.RabbitMqPostgres);
        var worker = await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("restart");
        await pipeline.CreateWorkflowAsync(project.Id, "survives restarts", true, ("noop", "input_file_uploaded", new JsonObject(), null));
        await pipeline.WaitForDefinitionsAsync();
        await pipeline.PublishAsync(Pipeline.DiffgramEvent(1, "input_file_uploaded", project.Id));
        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status == ActionRunStatus.Succeeded) == 1, Patience));

        await TestEnvironment.RestartBrokerAsync();
        await PublishWhenBrokerAcceptsAsync(pipeline, Pipeline.DiffgramEvent(2, "input_file_uploaded", project.Id));

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status == ActionRunStatus.Succeeded) == 2, TimeSpan.FromSeconds(60)),
            "the event published after the restart should run; worker output:\n" + worker.Output);
        Assert.False(worker.HasExited);
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task Sigterm_WhileAStepRuns_LetsItFinishAndExitsZero(PipelineMode mode)
    {
        await using var receiver = await WebhookReceiver.StartAsync("s");
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var worker = await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("drain");
        await pipeline.CreateWorkflowAsync(project.Id, "slow step", true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url("slow/drain") }, null));
        await pipeline.WaitForDefinitionsAsync();
        await pipeline.PublishAsync(Pipeline.DiffgramEvent(1, "input_file_uploaded", project.Id));
        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Any(r => r.Status == ActionRunStatus.Running), Patience));

        var exitCode = await worker.TerminateAsync(TimeSpan.FromSeconds(40));

        Assert.Equal(0, exitCode);
        var run = Assert.Single(await pipeline.RunsAsync());
        Assert.Equal(ActionRunStatus.Succeeded, run.Status);
        Assert.Single(receiver.Deliveries);
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task Sigterm_WhileAStepStartedOverHttpRuns_LetsItFinishAndExitsZero(PipelineMode mode)
    {
        await using var receiver = await WebhookReceiver.StartAsync("s");
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var worker = await pipeline.StartWorkerAsync();
        using var project = await Api.TestProject.CreateAsync(worker);
        await pipeline.CreateWorkflowAsync(project.Id, "slow step", true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url("slow/drain-http") }, null));
        var answer = await project.Editor.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 1 });
        Api.ApiAssert.Ok(answer, System.Net.HttpStatusCode.Accepted);
        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Any(r => r.Status == ActionRunStatus.Running), Patience));

        // The step runs in this worker after the 202, with no message of its own to hand back: the stop must wait for it.
        var exitCode = await worker.TerminateAsync(TimeSpan.FromSeconds(40));

        Assert.Equal(0, exitCode);
        var run = Assert.Single(await pipeline.RunsAsync());
        Assert.Equal(ActionRunStatus.Succeeded, run.Status);
        Assert.Equal(1, run.Attempt);
        Assert.Single(receiver.Deliveries);
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task WorkerKilled_AfterAnsweringEventsOverHttp_ANewWorkerFinishesTheirStepsOnce(PipelineMode mode)
    {
        const int events = 20;
        const string secret = "http-kill-secret";
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var shortLease = new Dictionary<string, string> { ["Actionflow__Engine__LeaseDuration"] = "00:00:03" };
        var worker = await pipeline.StartWorkerAsync(shortLease);
        using var project = await Api.TestProject.CreateAsync(worker);
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "slow webhook then noop", true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url("slow/kill-http"), ["secret"] = secret }, null),
            ("noop", "action_completed", new JsonObject(), null));
        var steps = await pipeline.StepsAsync(workflow.Id);
        var answers = await Task.WhenAll(Enumerable.Range(1, events).Select(i => project.Editor.PostAsync(
            project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = i })));
        Assert.All(answers, a => Api.ApiAssert.Ok(a, System.Net.HttpStatusCode.Accepted));
        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Any(r => r.Status == ActionRunStatus.Running), Patience),
            "the first steps should be running in the worker that answered");

        // The answered events' first steps are under way in the worker, with no message anywhere that would bring them back.
        worker.Kill();
        await pipeline.StartWorkerAsync(shortLease);

        var finished = await Pipeline.EventuallyAsync(async () => await CountSucceededAsync(pipeline) == 2 * events, TimeSpan.FromSeconds(120));
        var runs = await pipeline.RunsAsync();
        Assert.True(finished, "every event should have both runs; statuses: " + string.Join(", ", runs.GroupBy(r => r.Status).Select(g => $"{g.Key}={g.Count()}")));
        Assert.Equal(events, runs.Count(r => r.ActionId == steps[0].Id));
        Assert.Equal(events, runs.Count(r => r.ActionId == steps[1].Id));
        var byEvent = receiver.Deliveries.GroupBy(d => (long)d.Body["event"]!["file_id"]!).ToList();
        Assert.Equal(events, byEvent.Count);
        Assert.All(byEvent, g => Assert.Single(g.Select(d => d.WebhookId).Distinct()));
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task WorkerKilled_During2000Events_AfterRestartEveryEventRunsAndNoSideEffectTwice(PipelineMode mode)
    {
        const int events = 2000;
        const string secret = "kill-test-secret";
        await using var receiver = await WebhookReceiver.StartAsync(secret);
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var worker = await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("kill");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "webhook then noop", true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url("hook"), ["secret"] = secret }, null),
            ("noop", "action_completed", new JsonObject(), null));
        var steps = await pipeline.StepsAsync(workflow.Id);
        await pipeline.WaitForDefinitionsAsync();

        var publishing = Task.Run(async () =>
        {
            for (var i = 1; i <= events; i++)
            {
                await pipeline.PublishAsync(Pipeline.DiffgramEvent(i, "input_file_uploaded", project.Id, fileId: i));
            }
        });
        Assert.True(await Pipeline.EventuallyAsync(async () => (await CountSucceededAsync(pipeline)) >= 300, TimeSpan.FromSeconds(90)),
            "work should be under way before the kill");
        worker.Kill();
        var doneAtKill = await CountSucceededAsync(pipeline);
        await publishing;
        await pipeline.StartWorkerAsync();

        var finished = await Pipeline.EventuallyAsync(async () => await CountSucceededAsync(pipeline) == 2 * events, TimeSpan.FromSeconds(240));
        var runs = await pipeline.RunsAsync();
        output.WriteLine($"{mode}: killed with {doneAtKill} runs done; after restart {runs.Count} runs, {runs.Count(r => r.Status == ActionRunStatus.Succeeded)} succeeded, " +
                         $"{runs.Count(r => r.Attempt > 1)} retried after the kill; {receiver.Deliveries.Count} deliveries");
        Assert.True(finished, "every event should have both runs; statuses: " +
            string.Join(", ", runs.GroupBy(r => r.Status).Select(g => $"{g.Key}={g.Count()}")));

        var recorded = await pipeline.EventsAsync();
        Assert.Equal(events, recorded.Count(e => e.Kind == "input_file_uploaded"));
        Assert.Equal(events, runs.Count(r => r.ActionId == steps[0].Id));
        Assert.Equal(events, runs.Count(r => r.ActionId == steps[1].Id));

        // Side effects: every event reached the receiver; repeats of a delivery carry the same webhook-id, so a
        // receiver that dedupes on it sees each event once.
        var byEvent = receiver.Deliveries.GroupBy(d => (long)d.Body["event"]!["source_event_id"]!).ToList();
        Assert.Equal(events, byEvent.Count);
        Assert.All(byEvent, g => Assert.Single(g.Select(d => d.WebhookId).Distinct()));
        Assert.All(receiver.Deliveries, d => Assert.True(d.SignatureValid));
    }

    private static async Task<int> CountSucceededAsync(Pipeline pipeline)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        return await db.Set<ActionRun>().CountAsync(r => r.Status == ActionRunStatus.Succeeded);
    }

    private static async Task PublishWhenBrokerAcceptsAsync(Pipeline pipeline, JsonObject message)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await pipeline.PublishAsync(message);
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }

    /// <summary>Dead letters as users see them: in the database (RabbitMQ's dead-letter queue is archived there).</summary>
    private static async Task<List<string>> DeadLetterReasonsAsync(Pipeline pipeline, int expected)
    {
        var letters = new List<DeadLetter>();
        await Pipeline.EventuallyAsync(async () =>
        {
            await using var db = await pipeline.Contexts.CreateDbContextAsync();
            letters = await db.Set<DeadLetter>().AsNoTracking().ToListAsync();
            return letters.Count >= expected;
        }, Patience);
        Assert.All(letters, d => Assert.Equal("events", d.Queue));
        return letters.Select(d => d.Reason).ToList();
    }
}
