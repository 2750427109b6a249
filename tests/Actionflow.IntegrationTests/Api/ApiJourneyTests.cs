using System.Net;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

public sealed class ApiJourneyTests
{
    private const string Secret = "journey-webhook-secret";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task NewUser_ProjectKeyWorkflowTwoStepsEvent_SeesBothStepsSucceedThroughTheApi(PipelineMode mode)
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var host = await pipeline.StartWorkerAsync();

        // The README's first steps: a project and a key with the admin token, then everything with the key.
        using var installation = ApiClient.Admin(host);
        var project = await installation.PostAsync("api/v1/projects", new JsonObject { ["string_id"] = "labeling", ["name"] = "Labeling" });
        ApiAssert.Ok(project, HttpStatusCode.Created);
        Assert.Equal("labeling", (string?)project.Json["project"]!["string_id"]);
        var key = await installation.PostAsync("api/v1/project/labeling/api-keys", new JsonObject { ["role"] = "editor" });
        ApiAssert.Ok(key, HttpStatusCode.Created);
        using var api = ApiClient.Basic(host, (string)key.Json["client_id"]!, (string)key.Json["client_secret"]!);
        const string P = "api/v1/project/labeling/";

        var templates = (await api.GetAsync(P + "action-template/list")).Json["action_template_list"]!.AsArray();
        var webhookTemplate = templates.Single(t => (string?)t!["kind"] == "Webhook")!;
        Assert.True((bool?)webhookTemplate["config_schema"]!["properties"]!["secret"]!["writeOnly"]);

        var workflow = await api.PostAsync(P + "actions/workflow/new", new JsonObject { ["name"] = "Notify on upload" });
        ApiAssert.Ok(workflow);
        var workflowId = (long)workflow.Json["workflow"]!["id"]!;
        Assert.False((bool)workflow.Json["workflow"]!["active"]!);

        var first = await api.PostAsync(P + $"actions/workflow/{workflowId}/action", new JsonObject
        {
            ["template_id"] = (long)webhookTemplate["id"]!,
            ["config_data"] = new JsonObject { ["url"] = receiver.Url("uploaded"), ["secret"] = Secret },
        });
        ApiAssert.Ok(first);
        Assert.Equal("input_file_uploaded", (string?)first.Json["action"]!["trigger_data"]!["event_name"]);
        Assert.Equal(0, (int)first.Json["action"]!["ordinal"]!);
        var second = await api.PostAsync(P + $"actions/workflow/{workflowId}/action", new JsonObject
        {
            ["kind"] = "noop",
            ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" },
        });
        ApiAssert.Ok(second);
        Assert.Equal(1, (int)second.Json["action"]!["ordinal"]!);

        var activated = await api.PutAsync(P + "actions/workflow/update", new JsonObject { ["workflow_id"] = workflowId, ["active"] = true, ["mode"] = "UPDATE" });
        ApiAssert.Ok(activated);
        Assert.True((bool)activated.Json["workflow"]!["active"]!);
        Assert.Equal(2, activated.Json["workflow"]!["actions_list"]!.AsArray().Count);

        var emitted = await api.PostAsync(P + "events", new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 77, ["directory_id"] = 5 });
        ApiAssert.Ok(emitted, HttpStatusCode.Accepted);
        Assert.Equal(1, (int)emitted.Json["triggered_steps"]!);
        var eventId = (long)emitted.Json["event"]!["id"]!;

        var run = await ApiAssert.EventuallyAsync(
            async () => (await api.PostAsync(P + "action/workflow-run/list", new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!.AsArray()
                .FirstOrDefault() as JsonObject,
            r => (string?)r["status"] == "succeeded" && r["action_runs"]!.AsArray().Count == 2,
            Patience, "the workflow run to succeed");
        Assert.Equal(eventId, (long)run["root_event_id"]!);
        var detail = (await api.GetAsync(P + $"workflow-runs/{(long)run["id"]!}")).Json["workflow_run"]!;
        var steps = detail["action_runs"]!.AsArray();
        Assert.Equal([(long)first.Json["action"]!["id"]!, (long)second.Json["action"]!["id"]!], steps.Select(s => (long)s!["action_id"]!));
        Assert.All(steps, s =>
        {
            Assert.Equal("succeeded", (string?)s!["status"]);
            Assert.Equal(1, (int)s["attempt"]!);
            Assert.NotNull((string?)s["started_at"]);
            Assert.EndsWith("Z", (string?)s["finished_at"], StringComparison.Ordinal);
        });
        Assert.Equal(200, (int?)steps[0]!["output"]!["status_code"]);

        var delivery = Assert.Single(receiver.Deliveries);
        Assert.True(delivery.SignatureValid);
        Assert.Equal(77, (long?)delivery.Body["event"]!["file_id"]);
        var runs = (await api.GetAsync(P + $"action/{(long)first.Json["action"]!["id"]!}/runs/list")).Json["action_run_list"]!.AsArray();
        Assert.Equal("succeeded", (string?)Assert.Single(runs)!["status"]);
    }
}
