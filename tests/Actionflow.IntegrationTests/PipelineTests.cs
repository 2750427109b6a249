using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.IntegrationTests;

public sealed class PipelineTests
{
    private const string Secret = "integration-test-secret-value";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Theory]
    [InlineData(PipelineMode.DiffgramCompatible)]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task TwoStepWebhookWorkflow_EventPublishedLikeDiffgram_FiresInOrderExactlyOnceEach(PipelineMode mode)
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        await using var pipeline = await Pipeline.CreateAsync(mode);
        await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("labeling");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "notify", true,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = receiver.Url("first"), ["secret"] = Secret }, null),
            ("Webhook", "action_completed", new JsonObject { ["url"] = receiver.Url("second"), ["secret"] = Secret }, null));
        var steps = await pipeline.StepsAsync(workflow.Id);
        await pipeline.WaitForDefinitionsAsync();

        await pipeline.PublishAsync(Pipeline.DiffgramEvent(501, "input_file_uploaded", project.Id, directoryId: 5, fileId: 77));

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status == ActionRunStatus.Succeeded) == 2, Patience),
            "both steps should succeed; runs: " + Describe(await pipeline.RunsAsync()));
        await pipeline.WaitUntilSettledAsync();
        var deliveries = receiver.Deliveries.OrderBy(d => d.ReceivedAt).ToList();
        Assert.Equal(["/first", "/second"], deliveries.Select(d => d.Path));
        Assert.All(deliveries, d => Assert.True(d.SignatureValid, "signature must verify with the shared secret"));
        Assert.NotEqual(deliveries[0].WebhookId, deliveries[1].WebhookId);

        var first = deliveries[0].Body;
        Assert.Equal("input_file_uploaded", (string?)first["event"]!["kind"]);
        Assert.Equal(77, (long?)first["event"]!["file_id"]);
        Assert.Equal(5, (long?)first["event"]!["directory_id"]);
        Assert.Equal(501, (long?)first["event"]!["source_event_id"]);
        Assert.Equal("walrus", (string?)first["event"]!["service_name"]);
        Assert.Equal(workflow.Id, (long?)first["workflow_id"]);
        Assert.Equal(steps[0].Id, (long?)first["action_id"]);

        var second = deliveries[1].Body;
        Assert.Equal("action_completed", (string?)second["event"]!["kind"]);
        Assert.Equal(steps[0].Id, (long?)second["event"]!["action_id"]);
        Assert.Equal(workflow.Id, (long?)second["event"]!["workflow_id"]);
        Assert.Equal(77, (long?)second["event"]!["file_id"]);
        Assert.Equal(200, (int?)second["event"]!["extra_metadata"]!["status_code"]);
        Assert.Equal(steps[1].Id, (long?)second["action_id"]);

        var runs = await pipeline.RunsAsync();
        Assert.Equal([steps[0].Id, steps[1].Id], runs.Select(r => r.ActionId));
        Assert.All(runs, r => Assert.Equal(1, r.Attempt));
        Assert.Single(runs.Select(r => r.WorkflowRunId).Distinct());
        Assert.Equal([$"/first", "/second"], deliveries.Select(d => d.Path));

        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            var workflowRun = await db.Set<WorkflowRun>().SingleAsync();
            Assert.Equal(WorkflowRunStatus.Succeeded, workflowRun.Status);
            var kinds = await db.Set<Event>().OrderBy(e => e.Id).Select(e => e.Kind).ToListAsync();
            Assert.Equal(["input_file_uploaded", "action_completed", "action_completed"], kinds);
        }

        var stored = string.Join('\n', (await pipeline.EventsAsync()).Select(e => e.ExtraMetadata.ToJsonString() + e.Payload.ToJsonString()))
            + string.Join('\n', runs.Select(r => r.Output?.ToJsonString()));
        Assert.DoesNotContain(Secret, stored, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task Triggers_InactiveArchivedOtherProjectOtherDirectory_OnlyMatchingStepsRunAndFailuresSayWhy(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        await pipeline.StartWorkerAsync();
        var a = await pipeline.CreateProjectAsync("project-a");
        var b = await pipeline.CreateProjectAsync("project-b");
        var noop = new JsonObject();
        var directory5 = new JsonObject { ["directory_id"] = 5 };
        var matching = await pipeline.CreateWorkflowAsync(a.Id, "directory 5", true, ("noop", "input_file_uploaded", noop, directory5));
        var listed = await pipeline.CreateWorkflowAsync(a.Id, "directory list", true,
            ("noop", "input_file_uploaded", new JsonObject(), new JsonObject { ["upload_directory_id_list"] = new JsonArray(3, 6) }));
        var inactive = await pipeline.CreateWorkflowAsync(a.Id, "inactive", false, ("noop", "input_file_uploaded", new JsonObject(), null));
        var archived = await pipeline.CreateWorkflowAsync(a.Id, "archived step", true, ("noop", "input_file_uploaded", new JsonObject(), null));
        var otherProject = await pipeline.CreateWorkflowAsync(b.Id, "other project", true, ("noop", "input_file_uploaded", new JsonObject(), null));
        var unknownKind = await pipeline.CreateWorkflowAsync(a.Id, "unknown kind", true, ("no_such_kind", "input_file_uploaded", new JsonObject(), null));
        var gated = await pipeline.CreateWorkflowAsync(a.Id, "gated", true,
            ("test_directory_gate", "input_file_uploaded", new JsonObject { ["required_directory_id"] = 6 }, null));
        var greeting = await pipeline.CreateWorkflowAsync(a.Id, "readme example", true,
            ("greet", "input_file_uploaded", new JsonObject { ["greeting"] = "Hi", ["api_key"] = "k" }, new JsonObject { ["directory_id"] = 6 }));
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            var step = await db.Set<WorkflowAction>().SingleAsync(s => s.WorkflowId == archived.Id);
            step.Archived = true;
            await db.SaveChangesAsync();
        }

        await pipeline.WaitForDefinitionsAsync();
        await pipeline.PublishAsync(Pipeline.DiffgramEvent(1, "input_file_uploaded", a.Id, directoryId: 5, fileId: 10));
        await pipeline.PublishAsync(Pipeline.DiffgramEvent(2, "input_file_uploaded", a.Id, directoryId: 6, fileId: 11));

        // Expected: directory 5 once, directory list once (event 2), unknown kind twice (failed), gate twice (one
        // skipped, one succeeded), the README's plugin action once (event 2).
        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status.IsTerminal()) == 7, Patience),
            "runs: " + Describe(await pipeline.RunsAsync()));
        await pipeline.WaitUntilSettledAsync();
        var runs = await pipeline.RunsAsync();
        Assert.Equal(7, runs.Count);
        var events = await pipeline.EventsAsync();
        long EventOf(long sourceId) => events.Single(e => e.DedupKey == "source:" + sourceId).Id;

        var dir5 = Assert.Single(runs, r => r.WorkflowId == matching.Id);
        Assert.Equal((ActionRunStatus.Succeeded, EventOf(1)), (dir5.Status, dir5.EventId));
        var list = Assert.Single(runs, r => r.WorkflowId == listed.Id);
        Assert.Equal((ActionRunStatus.Succeeded, EventOf(2)), (list.Status, list.EventId));
        Assert.DoesNotContain(runs, r => r.WorkflowId == inactive.Id || r.WorkflowId == archived.Id || r.WorkflowId == otherProject.Id);

        var unknown = runs.Where(r => r.WorkflowId == unknownKind.Id).ToList();
        Assert.Equal(2, unknown.Count);
        Assert.All(unknown, r =>
        {
            Assert.Equal(ActionRunStatus.Failed, r.Status);
            Assert.Contains("no runner is registered for kind 'no_such_kind'", r.ErrorReason, StringComparison.Ordinal);
        });

        var gate = runs.Where(r => r.WorkflowId == gated.Id).ToDictionary(r => r.EventId);
        Assert.Equal(ActionRunStatus.Skipped, gate[EventOf(1)].Status);
        Assert.Equal("precondition not met: directory 5 is not 6", gate[EventOf(1)].ErrorReason);
        Assert.Equal(ActionRunStatus.Succeeded, gate[EventOf(2)].Status);

        var greet = Assert.Single(runs, r => r.WorkflowId == greeting.Id);
        Assert.Equal(ActionRunStatus.Succeeded, greet.Status);
        Assert.Equal("Hi, file 11", (string?)greet.Output!["message"]);

        // The unknown kind's failure is an event like any other.
        Assert.Equal(2, events.Count(e => e.Kind == "action_failed" && e.WorkflowId == unknownKind.Id));
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task DeclaredCompletionEvent_ExportLikeStep_EmitsItAndTheStepTriggeredByItRunsNext(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("export");
        var workflow = await pipeline.CreateWorkflowAsync(project.Id, "export then notify", true,
            ("test_export_like", "input_file_uploaded", new JsonObject(), null),
            ("test_after_export", "export_generate_success", new JsonObject(), null));
        // A second workflow listening for the same kind must not run: the event is the first workflow's step's own.
        var bystander = await pipeline.CreateWorkflowAsync(project.Id, "bystander", true,
            ("noop", "input_file_uploaded", new JsonObject(), new JsonObject { ["directory_id"] = 999 }),
            ("test_after_export", "export_generate_success", new JsonObject(), null));
        var steps = await pipeline.StepsAsync(workflow.Id);
        await pipeline.WaitForDefinitionsAsync();

        await pipeline.PublishAsync(Pipeline.DiffgramEvent(700, "input_file_uploaded", project.Id, directoryId: 5, fileId: 12));

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status == ActionRunStatus.Succeeded) == 2, Patience),
            "both steps should succeed; runs: " + Describe(await pipeline.RunsAsync()));
        await pipeline.WaitUntilSettledAsync();
        var runs = await pipeline.RunsAsync();
        Assert.Equal([steps[0].Id, steps[1].Id], runs.Select(r => r.ActionId));
        Assert.Equal("export_generate_success", (string?)runs[1].Output!["after"]);
        Assert.DoesNotContain(runs, r => r.WorkflowId == bystander.Id);
        var events = await pipeline.EventsAsync();
        Assert.Equal(["input_file_uploaded", "export_generate_success", "action_completed"], events.Select(e => e.Kind));
        Assert.Equal((steps[0].Id, 12L), (events[1].ActionId!.Value, events[1].FileId!.Value));
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        Assert.Equal(WorkflowRunStatus.Succeeded, (await db.Set<WorkflowRun>().SingleAsync()).Status);
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task RepeatedDiffgramEvent_SameId_RecordedAndRunOnce(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        await pipeline.StartWorkerAsync();
        var project = await pipeline.CreateProjectAsync("dedup");
        await pipeline.CreateWorkflowAsync(project.Id, "once", true, ("noop", "task_completed", new JsonObject(), null));
        await pipeline.WaitForDefinitionsAsync();

        // A message delivered or published again carries the same Diffgram event id: recorded and run once.
        var message = Pipeline.DiffgramEvent(42, "task_completed", project.Id);
        await pipeline.PublishAsync(message);
        await pipeline.PublishAsync(message);
        await pipeline.PublishAsync(Pipeline.DiffgramEvent(43, "task_completed", project.Id));

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status == ActionRunStatus.Succeeded) == 2, Patience));
        // Both copies of event 42 have been consumed once this holds: the queue is empty with nothing unacknowledged.
        await pipeline.WaitUntilSettledAsync();
        Assert.Equal(2, (await pipeline.RunsAsync()).Count);
        Assert.Equal(2, (await pipeline.EventsAsync()).Count(e => e.Kind == "task_completed"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    public async Task ThreeStepChains_TwoWorkers_EachChainRunsWhereItsEventWasAcceptedUnlessInProcessStepsIsZero(string? inProcessSteps)
    {
        const int Chains = 40;
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.RabbitMqPostgres);
        var settings = inProcessSteps is null ? null : new Dictionary<string, string> { ["Actionflow__Engine__InProcessSteps"] = inProcessSteps };
        await pipeline.StartWorkerAsync(settings);
        await pipeline.StartWorkerAsync(settings);
        var project = await pipeline.CreateProjectAsync("chains");
        await pipeline.CreateWorkflowAsync(project.Id, "three", true,
            ("noop", "input_file_uploaded", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null),
            ("noop", "action_completed", new JsonObject(), null));
        await pipeline.WaitForDefinitionsAsync();

        for (var i = 1; i <= Chains; i++)
        {
            await pipeline.PublishAsync(Pipeline.DiffgramEvent(900 + i, "input_file_uploaded", project.Id, fileId: i));
        }

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync()).Count(r => r.Status == ActionRunStatus.Succeeded) == 3 * Chains, Patience),
            "every step of every chain should succeed; runs: " + Describe(await pipeline.RunsAsync()));
        var chains = (await pipeline.RunsAsync()).GroupBy(r => r.WorkflowRunId).ToList();
        Assert.Equal(Chains, chains.Count);
        Assert.All(chains, c => Assert.Equal(3, c.Count()));
        Assert.All(chains.SelectMany(c => c), r => Assert.Equal(1, r.Attempt));
        if (inProcessSteps is null)
        {
            // No trigger message between the steps: the worker that accepted the event ran the whole chain.
            Assert.All(chains, c => Assert.Single(c.Select(r => r.WorkerId).Distinct()));
        }
        else
        {
            // Every step went through the actions queue, which hands its messages to both workers in turn.
            Assert.Contains(chains, c => c.Select(r => r.WorkerId).Distinct().Count() > 1);
        }
    }

    internal static string Describe(IEnumerable<ActionRun> runs) =>
        string.Join("; ", runs.Select(r => $"run {r.Id} action {r.ActionId} event {r.EventId} {r.Status} {r.ErrorReason}"));
}
