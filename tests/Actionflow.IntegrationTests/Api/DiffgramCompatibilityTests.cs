using System.Net;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>
/// Requests shaped exactly as Diffgram's workflow builder sends them (reference §7.1), answered with the keys it reads.
/// </summary>
public sealed class DiffgramCompatibilityTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private const string Secret = "compat-secret";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task WorkflowBuilder_FrontendRequests_SucceedAndReturnTheKeysTheUiReads()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Secret);
        using var project = await TestProject.CreateAsync(fixture.Host);
        var api = project.Editor;

        // Workflow list page: POST action/flow/list with {}.
        var empty = await api.PostAsync(project.P("action/flow/list"), new JsonObject());
        ApiAssert.Ok(empty);
        Assert.Empty(empty.Json["flow_list"]!.AsArray());

        // "Add first step": a new workflow named by sillyname(), with the legacy keys the UI sends along.
        var created = await api.PostAsync(project.P("actions/workflow/new"), new JsonObject
        {
            ["name"] = "brave tiger", ["trigger_type"] = "manual", ["time_window"] = "5_minutes",
        });
        ApiAssert.Ok(created);
        var workflow = created.Json["workflow"]!.AsObject();
        foreach (var key in (string[])["id", "string_id", "name", "trigger_type", "time_window", "active", "time_updated", "archived"])
        {
            Assert.True(workflow.ContainsKey(key), $"workflow lacks '{key}': {workflow.ToJsonString()}");
        }

        var workflowId = (long)workflow["id"]!;
        Assert.StartsWith("bravetiger_", (string?)workflow["string_id"], StringComparison.Ordinal);

        // Step palette: the template list.
        var templates = (await api.GetAsync(project.P("action-template/list"))).Json["action_template_list"]!.AsArray();
        var webhook = templates.Single(t => (string?)t!["kind"] == "Webhook")!.AsObject();
        foreach (var key in (string[])["id", "public_name", "icon", "kind", "description", "trigger_data", "condition_data", "completion_condition_data"])
        {
            Assert.True(webhook.ContainsKey(key), $"template lacks '{key}'");
        }

        var noop = templates.Single(t => (string?)t!["kind"] == "noop")!.AsObject();

        // Add step: on_add_action_to_workflow's body (the template's trigger, condition and completion dicts).
        var first = await AddStepAsync(api, project, workflowId, webhook, ordinal: 0);
        var second = await AddStepAsync(api, project, workflowId, noop, ordinal: 1);
        Assert.Equal("input_file_uploaded", (string?)first["trigger_data"]!["event_name"]);
        foreach (var key in (string[])["id", "kind", "public_name", "icon", "description", "ordinal", "workflow_id", "template_id", "trigger_data",
                     "precondition", "completion_condition_data", "config_data", "output", "output_interface", "active", "archived"])
        {
            Assert.True(first.ContainsKey(key), $"action lacks '{key}'");
        }

        // Step config panel: GET action-template/{template_id}.
        var template = await api.GetAsync(project.P($"action-template/{(long)first["template_id"]!}"));
        ApiAssert.Ok(template);
        Assert.Equal("input_file_uploaded", (string?)template.Json["action_template"]!["trigger_data"]!["default_event_name"]);
        Assert.NotEmpty(template.Json["action_template"]!["trigger_data"]!["event_list"]!.AsArray());

        // Autosave: the deep watcher PUTs the whole action object (+ workflow_id) on every change.
        first["config_data"] = new JsonObject { ["url"] = receiver.Url("compat"), ["secret"] = Secret };
        first["workflow_id"] = workflowId;
        var saved = await api.PutAsync(project.P($"actions/{(long)first["id"]!}"), first.DeepClone());
        ApiAssert.Ok(saved);
        first = saved.Json["action"]!.AsObject();
        Assert.Equal("********", (string?)first["config_data"]!["secret"]);
        first["description"] = "edited in the UI";
        first["workflow_id"] = workflowId;
        saved = await api.PutAsync(project.P($"actions/{(long)first["id"]!}"), first.DeepClone());
        ApiAssert.Ok(saved);
        Assert.Equal("edited in the UI", (string?)saved.Json["action"]!["description"]);

        // Second step: chained on the first, with the classifier-style output_interface a labeling step reads.
        second["trigger_data"]!["event_name"] = "action_completed";
        second["workflow_id"] = workflowId;
        saved = await api.PutAsync(project.P($"actions/{(long)second["id"]!}"), second.DeepClone());
        ApiAssert.Ok(saved);
        first["output_interface"] = new JsonObject { ["output_labels"] = new JsonObject { ["label"] = "Labels", ["options"] = new JsonArray() } };
        first["workflow_id"] = workflowId;
        ApiAssert.Ok(await api.PutAsync(project.P($"actions/{(long)first["id"]!}"), first.DeepClone()));
        var previous = await api.GetAsync(project.P($"action/previous/{(long)second["id"]!}"));
        ApiAssert.Ok(previous);
        Assert.Equal((long)first["id"]!, (long)previous.Json["previous_action"]!["id"]!);
        Assert.Equal("Labels", (string?)previous.Json["previous_action"]!["output_interface"]!["output_labels"]!["label"]);

        // Active switch: PUT actions/workflow/update with the fields the UI sends.
        var updated = await api.PutAsync(project.P("actions/workflow/update"), new JsonObject
        {
            ["workflow_id"] = workflowId, ["name"] = "brave tiger", ["trigger_type"] = "manual", ["time_window"] = "5_minutes", ["active"] = true, ["mode"] = "UPDATE",
        });
        ApiAssert.Ok(updated);
        var active = updated.Json["workflow"]!;
        Assert.True((bool)active["active"]!);
        Assert.Equal("5_minutes", (string?)active["time_window"]);
        Assert.Equal((string?)workflow["string_id"], (string?)active["string_id"]);
        Assert.Equal([(long)first["id"]!, (long)second["id"]!], active["actions_list"]!.AsArray().Select(a => (long)a!["id"]!));

        // Builder load.
        var loaded = (await api.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!;
        Assert.Equal("brave tiger", (string?)loaded["name"]);
        Assert.Equal(2, loaded["actions_list"]!.AsArray().Count);
        var list = (await api.PostAsync(project.P("action/flow/list"), new JsonObject())).Json["flow_list"]!.AsArray();
        Assert.Equal(workflowId, (long)Assert.Single(list)!["id"]!);

        // An upload published by Diffgram itself runs both steps; the Webhook "ongoing usage" table reads the runs list.
        await fixture.Pipeline.PublishAsync(Pipeline.DiffgramEvent(9001, "input_file_uploaded", project.Id, directoryId: 1, fileId: 42));
        var runs = await ApiAssert.EventuallyAsync(
            async () => (await api.GetAsync(project.P($"action/{(long)second["id"]!}/runs/list"))).Json,
            r => r["action_run_list"]!.AsArray().Any(x => (string?)x!["status"] == "succeeded"), Patience, "the chained step to succeed");
        var webhookRuns = (await api.GetAsync(project.P($"action/{(long)first["id"]!}/runs/list?page=0&page_size=10"))).Json["action_run_list"]!.AsArray();
        var webhookRun = Assert.Single(webhookRuns)!;
        foreach (var key in (string[])["id", "kind", "status", "output", "workflow_id", "action_id", "time_created"])
        {
            Assert.True(webhookRun.AsObject().ContainsKey(key), $"action run lacks '{key}'");
        }

        Assert.Equal(200, (int?)webhookRun["output"]!["status_code"]);
        Assert.Equal(receiver.Url("compat"), (string?)webhookRun["output"]!["url"]);
        Assert.True(Assert.Single(receiver.Deliveries).SignatureValid, "the autosaved secret still signs");
        Assert.Single(runs["action_run_list"]!.AsArray());

        // Run list (route 4), which always failed in Diffgram.
        var workflowRuns = (await api.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!.AsArray();
        Assert.Equal("succeeded", (string?)Assert.Single(workflowRuns)!["status"]);

        // Remove step: PUT with archived: true; the list and the previous-step lookup skip it.
        var archived = await api.PutAsync(project.P($"actions/{(long)first["id"]!}"), new JsonObject { ["archived"] = true, ["workflow_id"] = workflowId });
        ApiAssert.Ok(archived);
        Assert.True((bool)archived.Json["action"]!["archived"]!);
        loaded = (await api.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!;
        Assert.Equal((long)second["id"]!, (long)Assert.Single(loaded["actions_list"]!.AsArray())!["id"]!);
        ApiAssert.Problem(await api.GetAsync(project.P($"action/previous/{(long)second["id"]!}")), HttpStatusCode.NotFound);

        // Archive: mode ARCHIVE deactivates and hides it.
        var gone = await api.PutAsync(project.P("actions/workflow/update"), new JsonObject
        {
            ["workflow_id"] = workflowId, ["name"] = "brave tiger", ["trigger_type"] = "manual", ["time_window"] = null, ["active"] = false, ["mode"] = "ARCHIVE",
        });
        ApiAssert.Ok(gone);
        Assert.True((bool)gone.Json["workflow"]!["archived"]!);
        Assert.False((bool)gone.Json["workflow"]!["active"]!);
        Assert.Empty((await api.PostAsync(project.P("action/flow/list"), new JsonObject())).Json["flow_list"]!.AsArray());
    }

    [Fact]
    public async Task ManualTrigger_VertexStyleTrainButton_RunsExactlyThatStep()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var api = project.Editor;
        var ids = new List<(long Workflow, long Action)>();
        foreach (var name in (string[])["train a", "train b"])
        {
            var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = name })).Json["workflow"]!["id"]!;
            var action = await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
            {
                ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = "manual_trigger" },
            });
            ApiAssert.Ok(action);
            ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true, ["mode"] = "UPDATE" }));
            ids.Add((workflowId, (long)action.Json["action"]!["id"]!));
        }

        // actionService.trigger_action: no body.
        var triggered = await api.PutAsync(project.P($"workflow/{ids[0].Workflow}/actions/{ids[0].Action}/manual_trigger"));
        ApiAssert.Ok(triggered, HttpStatusCode.Accepted);
        Assert.Equal("manual_trigger", (string?)triggered.Json["event"]!["kind"]);
        Assert.Equal(ids[0].Action, (long?)triggered.Json["event"]!["action_id"]);

        await ApiAssert.EventuallyAsync(
            async () => (await api.GetAsync(project.P($"action/{ids[0].Action}/runs/list"))).Json,
            r => r["action_run_list"]!.AsArray().Any(x => (string?)x!["status"] == "succeeded"), Patience, "the triggered step to run");
        // The event's steps were matched when it was accepted; once nothing is left in flight, none other can appear.
        await fixture.Pipeline.WaitUntilSettledAsync();
        Assert.Empty((await api.GetAsync(project.P($"action/{ids[1].Action}/runs/list"))).Json["action_run_list"]!.AsArray());

        // The action must belong to the workflow in the path (Diffgram: 403 "bad workflow_id id").
        ApiAssert.Problem(await api.PutAsync(project.P($"workflow/{ids[1].Workflow}/actions/{ids[0].Action}/manual_trigger")), HttpStatusCode.NotFound);
    }

    private static async Task<JsonObject> AddStepAsync(ApiClient api, TestProject project, long workflowId, JsonObject template, int ordinal)
    {
        var response = await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["public_name"] = template["public_name"]!.DeepClone(),
            ["kind"] = template["kind"]!.DeepClone(),
            ["description"] = template["description"]!.DeepClone(),
            ["ordinal"] = ordinal,
            ["workflow_id"] = workflowId,
            ["trigger_data"] = template["trigger_data"]!.DeepClone(),
            ["precondition"] = template["condition_data"]!.DeepClone(),
            ["completion_condition_data"] = template["completion_condition_data"]!.DeepClone(),
            ["template_id"] = template["id"]!.DeepClone(),
            ["icon"] = template["icon"]!.DeepClone(),
        });
        ApiAssert.Ok(response);
        return response.Json["action"]!.AsObject();
    }
}
