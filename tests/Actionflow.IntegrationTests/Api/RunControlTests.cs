using System.Net;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>Events over HTTP (idempotency), secrets, retry of failed steps, cancel.</summary>
public sealed class RunControlTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private const string Secret = "whsec-run-control-secret-value";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task EmitEvent_SameIdempotencyKeyTwice_FirstEventReturnedAndStepRunsOnce()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var api = project.Editor;
        var (workflowId, steps) = await WorkflowAsync(project, "task_completed", ("noop", null));

        var body = new JsonObject { ["kind"] = "task_completed", ["task_id"] = 12, ["idempotency_key"] = "task-12-done", ["project_id"] = 999999 };
        var first = await api.PostAsync(project.P("events"), body);
        var second = await api.PostAsync(project.P("events"), body);

        ApiAssert.Ok(first, HttpStatusCode.Accepted);
        ApiAssert.Ok(second, HttpStatusCode.Accepted);
        Assert.Equal((long)first.Json["event"]!["id"]!, (long)second.Json["event"]!["id"]!);
        Assert.Equal((false, 1), ((bool)first.Json["duplicate"]!, (int)first.Json["triggered_steps"]!));
        Assert.Equal((true, 0), ((bool)second.Json["duplicate"]!, (int)second.Json["triggered_steps"]!));
        Assert.Equal(project.Id, (long)first.Json["event"]!["project_id"]!);
        Assert.Equal("task-12-done", (string?)first.Json["event"]!["idempotency_key"]);

        await ApiAssert.EventuallyAsync(
            async () => (await api.GetAsync(project.P($"action/{steps[0]}/runs/list"))).Json,
            r => r["action_run_list"]!.AsArray().Count == 1 && (string?)r["action_run_list"]![0]!["status"] == "succeeded", Patience, "the step to run");
        await fixture.Pipeline.WaitUntilSettledAsync();
        var onlyRun = Assert.Single((await api.GetAsync(project.P($"action/{steps[0]}/runs/list"))).Json["action_run_list"]!.AsArray())!;
        Assert.Equal(1, (int)onlyRun["attempt"]!);
        var events = (await project.Viewer.GetAsync(project.P("events?kind=task_completed"))).Json["event_list"]!.AsArray();
        Assert.Single(events);
        var all = (await project.Viewer.GetAsync(project.P("events?page_size=1"))).Json["event_list"]!.AsArray();
        Assert.Equal("action_completed", (string?)Assert.Single(all)!["kind"]);
        var since = (await project.Viewer.GetAsync(project.P($"events?since={Uri.EscapeDataString(DateTime.UtcNow.AddMinutes(1).ToString("O"))}"))).Json;
        Assert.Empty(since["event_list"]!.AsArray());

        // The same key in another project is another event.
        using var other = await TestProject.CreateAsync(fixture.Host);
        var elsewhere = await other.Editor.PostAsync(other.P("events"), body);
        Assert.False((bool)elsewhere.Json["duplicate"]!);
        Assert.NotEqual((long)first.Json["event"]!["id"]!, (long)elsewhere.Json["event"]!["id"]!);
        _ = workflowId;
    }

    [Fact]
    public async Task WebhookSecret_NeverInAnyResponse_SurvivesAutosaveOfMask_ClearedByNull()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        using var project = await TestProject.CreateAsync(fixture.Host);
        var api = project.Editor;
        var (workflowId, steps) = await WorkflowAsync(project, "input_file_uploaded", ("Webhook", new JsonObject { ["url"] = receiver.Url("signed"), ["secret"] = Secret }));
        var action = (await api.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!["actions_list"]![0]!.AsObject();
        Assert.Equal("********", (string?)action["config_data"]!["secret"]);

        // Autosave of the whole object, mask included, with another change.
        action["public_name"] = "Signed webhook";
        action["workflow_id"] = workflowId;
        var saved = await api.PutAsync(project.P($"actions/{steps[0]}"), action.DeepClone());
        ApiAssert.Ok(saved);
        Assert.Equal("********", (string?)saved.Json["action"]!["config_data"]!["secret"]);
        // Leaving config_data.secret out also keeps it.
        ApiAssert.Ok(await api.PutAsync(project.P($"actions/{steps[0]}"), new JsonObject { ["config_data"] = new JsonObject { ["url"] = receiver.Url("signed") } }));

        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 1 }), HttpStatusCode.Accepted);
        var run = await ApiAssert.EventuallyAsync(
            async () => (await api.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!.AsArray()
                .FirstOrDefault() as JsonObject,
            r => (string?)r["status"] == "succeeded", Patience, "the webhook run");
        Assert.True(Assert.Single(receiver.Deliveries).SignatureValid, "the secret kept through the autosave still signs");

        await api.GetAsync(project.P($"workflow-runs/{(long)run["id"]!}"));
        await api.GetAsync(project.P($"action/{steps[0]}/runs/list"));
        await api.GetAsync(project.P("events"));
        await api.PostAsync(project.P("action/flow/list"), new JsonObject());
        await api.GetAsync(project.P($"action/previous/{steps[0]}"));
        await project.Admin.GetAsync(project.P("action-template/list"));
        Assert.All(api.Transcript.Concat(project.Admin.Transcript), body => Assert.DoesNotContain(Secret, body, StringComparison.Ordinal));
        Assert.DoesNotContain(Secret, fixture.Host.Output, StringComparison.Ordinal);

        // An explicit null clears it.
        var cleared = await api.PutAsync(project.P($"actions/{steps[0]}"), new JsonObject { ["config_data"] = new JsonObject { ["url"] = receiver.Url("signed"), ["secret"] = null } });
        ApiAssert.Ok(cleared);
        Assert.Null(cleared.Json["action"]!["config_data"]!["secret"]);
        await using var db = await fixture.Pipeline.Contexts.CreateDbContextAsync();
        var stored = db.Set<Actionflow.Core.Domain.WorkflowAction>().Single(a => a.Id == steps[0]).ConfigData;
        Assert.Null(stored["secret"]);
    }

    [Fact]
    public Task Retry_FailedMiddleStepFixed_RerunsOnlyTheFailedStepThenTheChainGoesOn() => RetryScenarioAsync(fixture.Host);

    [Fact]
    public async Task Retry_Embedded_RerunsOnlyTheFailedStep()
    {
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.Embedded);
        await RetryScenarioAsync(await pipeline.StartWorkerAsync());
    }

    private static async Task RetryScenarioAsync(ActionflowProcess host)
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        using var project = await TestProject.CreateAsync(host);
        var api = project.Editor;
        var (workflowId, steps) = await WorkflowAsync(project, "input_file_uploaded",
            ("Webhook", new JsonObject { ["url"] = receiver.Url("ok/first"), ["secret"] = Secret }),
            ("Webhook", new JsonObject { ["url"] = receiver.Url("fail/second"), ["secret"] = Secret }),
            ("noop", null));
        // A 500 is retried by the engine; one attempt only, so the run fails at once and waits for the API's retry.
        var oneAttempt = await project.Editor.PutAsync(project.P($"actions/{steps[1]}"), new JsonObject { ["retry_policy"] = new JsonObject { ["max_attempts"] = 1 } });
        ApiAssert.Ok(oneAttempt);
        Assert.Equal(1, (int?)oneAttempt.Json["action"]!["retry_policy"]!["max_attempts"]);

        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 5 }), HttpStatusCode.Accepted);
        var failed = await ApiAssert.EventuallyAsync(
            async () => (await api.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!.AsArray()
                .FirstOrDefault() as JsonObject,
            r => (string?)r["status"] == "failed", Patience, "the second step to fail");
        var runId = (long)failed["id"]!;
        var failedStep = failed["action_runs"]!.AsArray().Single(s => (long)s!["action_id"]! == steps[1])!;
        Assert.Equal("failed", (string?)failedStep["status"]);
        Assert.Contains("500", (string?)failedStep["error_reason"], StringComparison.Ordinal);
        Assert.Equal(2, failed["action_runs"]!.AsArray().Count);

        // Fix the URL (the secret stays), then retry.
        ApiAssert.Ok(await api.PutAsync(project.P($"actions/{steps[1]}"), new JsonObject
        {
            ["config_data"] = new JsonObject { ["url"] = receiver.Url("ok/second"), ["secret"] = "********" },
        }));
        var retried = await api.PostAsync(project.P($"workflow-runs/{runId}/retry"));
        ApiAssert.Ok(retried, HttpStatusCode.Accepted);
        // The reply shows the state right after the commit; a fast worker may already have run it again.
        Assert.Contains((string?)retried.Json["workflow_run"]!["status"], (string[])["running", "succeeded"]);
        Assert.Contains((string?)retried.Json["workflow_run"]!["action_runs"]!.AsArray().Single(s => (long)s!["action_id"]! == steps[1])!["status"],
            (string[])["pending", "running", "succeeded"]);

        var done = await ApiAssert.EventuallyAsync(
            async () => (await api.GetAsync(project.P($"workflow-runs/{runId}"))).Json["workflow_run"]!.AsObject(),
            r => (string?)r["status"] == "succeeded", Patience, "the retried run to succeed");
        var runs = done["action_runs"]!.AsArray();
        Assert.Equal(steps, runs.Select(r => (long)r!["action_id"]!));
        Assert.All(runs, r => Assert.Equal("succeeded", (string?)r!["status"]));
        Assert.Equal([1, 2, 1], runs.Select(r => (int)r!["attempt"]!));
        Assert.Equal((long)failedStep["id"]!, (long)runs[1]!["id"]!);
        Assert.Equal(["/ok/first", "/fail/second", "/ok/second"], receiver.Deliveries.OrderBy(d => d.ReceivedAt).Select(d => d.Path));

        ApiAssert.Problem(await api.PostAsync(project.P($"workflow-runs/{runId}/retry")), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Cancel_WhileFirstStepRuns_StepCanceledAndTheNextNeverRuns()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        using var project = await TestProject.CreateAsync(fixture.Host);
        var api = project.Editor;
        var (workflowId, steps) = await WorkflowAsync(project, "input_file_uploaded",
            ("Webhook", new JsonObject { ["url"] = receiver.Url("slow/first"), ["secret"] = Secret }),
            ("noop", null));

        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded" }), HttpStatusCode.Accepted);
        var running = await ApiAssert.EventuallyAsync(
            async () => (await api.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!.AsArray()
                .FirstOrDefault() as JsonObject,
            r => r["action_runs"]!.AsArray().Any(s => (string?)s!["status"] == "running"), Patience, "the slow step to start");
        var runId = (long)running["id"]!;

        ApiAssert.Problem(await project.Viewer.PostAsync(project.P($"workflow-runs/{runId}/cancel")), HttpStatusCode.Forbidden);
        var canceled = await api.PostAsync(project.P($"workflow-runs/{runId}/cancel"));
        ApiAssert.Ok(canceled);
        Assert.Equal("canceled", (string?)canceled.Json["workflow_run"]!["status"]);
        Assert.Equal("canceled", (string?)Assert.Single(canceled.Json["workflow_run"]!["action_runs"]!.AsArray())!["status"]);

        // The slow webhook answers after 3 s; the worker then finds the run canceled and says it discards the result.
        var stepRunId = (long)running["action_runs"]!.AsArray().First(s => (string?)s!["status"] == "running")!["id"]!;
        Assert.True(await Pipeline.EventuallyAsync(() => Task.FromResult(fixture.Host.Output.Contains($"Run {stepRunId} is no longer held by this worker", StringComparison.Ordinal)), Patience),
            "the worker should discard the canceled run's result:\n" + fixture.Host.Output);
        await fixture.Pipeline.WaitUntilSettledAsync();
        var after = (await api.GetAsync(project.P($"workflow-runs/{runId}"))).Json["workflow_run"]!;
        Assert.Equal("canceled", (string?)after["status"]);
        Assert.Equal("canceled", (string?)Assert.Single(after["action_runs"]!.AsArray())!["status"]);
        Assert.Empty((await api.GetAsync(project.P($"action/{steps[1]}/runs/list"))).Json["action_run_list"]!.AsArray());
        ApiAssert.Problem(await api.PostAsync(project.P($"workflow-runs/{runId}/cancel")), HttpStatusCode.Conflict);
        ApiAssert.Problem(await api.PostAsync(project.P($"workflow-runs/{runId}/retry")), HttpStatusCode.Conflict);
    }

    /// <summary>An active workflow whose first step triggers on <paramref name="firstEvent"/> and the others on action_completed.</summary>
    private static async Task<(long WorkflowId, List<long> Steps)> WorkflowAsync(TestProject project, string firstEvent, params (string Kind, JsonObject? Config)[] steps)
    {
        var api = project.Editor;
        var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "run control" })).Json["workflow"]!["id"]!;
        var ids = new List<long>();
        foreach (var (kind, config) in steps)
        {
            var created = await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
            {
                ["kind"] = kind,
                ["trigger_data"] = new JsonObject { ["event_name"] = ids.Count == 0 ? firstEvent : "action_completed" },
                ["config_data"] = config,
            });
            ApiAssert.Ok(created);
            ids.Add((long)created.Json["action"]!["id"]!);
        }

        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true, ["mode"] = "UPDATE" }));
        return (workflowId, ids);
    }
}
