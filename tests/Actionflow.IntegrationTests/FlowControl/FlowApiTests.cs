using System.Net;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Api;

namespace Actionflow.IntegrationTests.FlowControl;

/// <summary>The flow-control fields through Diffgram's step routes: saved, returned, drawn as a graph, refused with the field when wrong.</summary>
public sealed class FlowApiTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private static JsonObject Step(string eventName, JsonArray? dependsOn = null, string? condition = null, bool? elseBranch = null)
    {
        var body = new JsonObject { ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = eventName } };
        if (dependsOn is not null)
        {
            body["depends_on"] = dependsOn;
        }

        if (condition is not null)
        {
            body["condition"] = condition;
        }

        if (elseBranch is not null)
        {
            body["else_branch"] = elseBranch;
        }

        return body;
    }

    [Fact]
    public async Task Workflow_WithBranches_ReturnsStepsFieldsAndTheGraph()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var client = project.Editor;
        var workflowId = (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "branches" })).Json["workflow"]!["id"]!;
        async Task<long> AddAsync(JsonObject body)
        {
            var response = await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), body);
            ApiAssert.Ok(response);
            return (long)response.Json["action"]!["id"]!;
        }

        var a = await AddAsync(Step("input_file_uploaded"));
        var positive = await AddAsync(Step("action_completed", [a], "event.extra_metadata.score > 0.8"));
        var negative = await AddAsync(Step("action_completed", [a], elseBranch: true));
        var after = await AddAsync(Step("action_completed"));

        var step = (await client.GetAsync(project.P($"action/previous/{after}"))).Json["previous_action"]!;
        Assert.Equal(negative, (long)step["id"]!);
        Assert.True((bool)step["else_branch"]!);
        Assert.Equal(new JsonArray(a).ToJsonString(), step["depends_on"]!.ToJsonString());

        var workflow = (await client.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!;
        var nodes = workflow["graph"]!["nodes"]!.AsArray();
        Assert.Equal([a, positive, negative, after], nodes.Select(n => (long)n!["id"]!));
        var edges = workflow["graph"]!["edges"]!.AsArray().Select(e => ((long)e!["from"]!, (long)e["to"]!, (string)e["kind"]!, (string?)e["condition"], (bool)e["else"]!)).ToList();
        Assert.Equal(
            [
                (a, positive, "depends_on", "event.extra_metadata.score > 0.8", false),
                (a, negative, "depends_on", null, true),
                (negative, after, "sequence", null, false),
            ],
            edges);

        ApiAssert.Ok(await client.PutAsync(project.P($"actions/{positive}"), new JsonObject { ["condition"] = "" }));
        var cleared = (await client.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!["graph"]!["edges"]![0]!;
        Assert.Null((string?)cleared["condition"]);
    }

    [Fact]
    public async Task Step_BadFlowFields_400NamingTheField()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var client = project.Editor;
        async Task<long> WorkflowAsync(string name) =>
            (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = name })).Json["workflow"]!["id"]!;
        var workflowId = await WorkflowAsync("refusals");
        var otherWorkflowId = await WorkflowAsync("other");
        async Task<long> AddAsync(long workflow, JsonObject body)
        {
            var response = await client.PostAsync(project.P($"actions/workflow/{workflow}/action"), body);
            ApiAssert.Ok(response);
            return (long)response.Json["action"]!["id"]!;
        }

        var a = await AddAsync(workflowId, Step("input_file_uploaded"));
        var b = await AddAsync(workflowId, Step("action_completed", [a]));
        var c = await AddAsync(workflowId, Step("action_completed", [b]));
        var archived = await AddAsync(workflowId, Step("action_completed"));
        ApiAssert.Ok(await client.PutAsync(project.P($"actions/{archived}"), new JsonObject { ["archived"] = true }));
        var foreign = await AddAsync(otherWorkflowId, Step("input_file_uploaded"));
        var create = project.P($"actions/workflow/{workflowId}/action");

        async Task RefusedAsync(Task<ApiResponse> sending, string field, string containing)
        {
            var response = await sending;
            ApiAssert.Problem(response, HttpStatusCode.BadRequest, field);
            Assert.Contains(response.Json["errors"]![field]!.AsArray(), m => ((string)m!).Contains(containing, StringComparison.Ordinal));
        }

        await RefusedAsync(client.PutAsync(project.P($"actions/{b}"), new JsonObject { ["depends_on"] = new JsonArray(c) }), "depends_on", $"steps {b}, {c} form a cycle");
        await RefusedAsync(client.PostAsync(create, Step("action_completed", [foreign])), "depends_on", $"step {foreign} is not a step of workflow {workflowId}");
        await RefusedAsync(client.PostAsync(create, Step("action_completed", [archived])), "depends_on", $"step {archived} is archived");
        await RefusedAsync(client.PostAsync(create, Step("action_completed", [999_999_999])), "depends_on", "is not a step of workflow");
        await RefusedAsync(client.PutAsync(project.P($"actions/{c}"), new JsonObject { ["depends_on"] = new JsonArray(c) }), "depends_on", "cannot depend on itself");
        await RefusedAsync(client.PostAsync(create, Step("action_completed", [a], "previous.score >")), "condition", "line 1, column");
        await RefusedAsync(client.PostAsync(create, Step("action_completed", [a], "steps.size()")), "condition", "bool");
        await RefusedAsync(client.PostAsync(create, Step("action_completed", [a], "score > 1")), "condition", "score");
        await RefusedAsync(client.PostAsync(create, Step("action_completed", [a], "previous.ok", elseBranch: true)), "else_branch", "cannot have a condition");
        await RefusedAsync(client.PostAsync(create, Step("input_file_uploaded", condition: "previous.ok")), "condition", "trigger_data.filter");
        await RefusedAsync(client.PostAsync(create, Step("input_file_uploaded", [a])), "trigger_data.event_name", "action_completed");
        await RefusedAsync(client.PutAsync(project.P($"actions/{a}"), new JsonObject { ["archived"] = true }), "archived", $"steps {b} depend on this step");

        // Nothing refused was saved: b still follows a.
        var workflow = (await client.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!;
        Assert.Equal(3, workflow["actions_list"]!.AsArray().Count);
        Assert.Equal(new JsonArray(a).ToJsonString(), workflow["actions_list"]![1]!["depends_on"]!.ToJsonString());
    }

    [Fact]
    public async Task Concurrency_SavedReturnedAndRefusedWithTheField()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var client = project.Editor;
        var created = await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "limited", ["concurrency_limit"] = 3 });
        ApiAssert.Ok(created);
        Assert.Equal(3, (int)created.Json["workflow"]!["concurrency_limit"]!);
        var workflowId = (long)created.Json["workflow"]!["id"]!;
        var create = project.P($"actions/workflow/{workflowId}/action");

        var body = Step("input_file_uploaded");
        body["concurrency"] = new JsonObject { ["key"] = "event.file_id", ["limit"] = 1 };
        var saved = await client.PostAsync(create, body);
        ApiAssert.Ok(saved);
        var stepId = (long)saved.Json["action"]!["id"]!;
        Assert.Equal("event.file_id", (string)saved.Json["action"]!["concurrency"]!["key"]!);
        Assert.Equal(1, (int)saved.Json["action"]!["concurrency"]!["limit"]!);

        async Task RefusedAsync(Task<ApiResponse> sending, string field, string containing)
        {
            var response = await sending;
            ApiAssert.Problem(response, HttpStatusCode.BadRequest, field);
            Assert.Contains(response.Json["errors"]![field]!.AsArray(), m => ((string)m!).Contains(containing, StringComparison.Ordinal));
        }

        JsonObject Limit(string? key, int? limit) => new() { ["concurrency"] = new JsonObject { ["key"] = key, ["limit"] = limit } };
        await RefusedAsync(client.PutAsync(project.P($"actions/{stepId}"), Limit("event.file_id +", 1)), "concurrency.key", "line 1, column");
        await RefusedAsync(client.PutAsync(project.P($"actions/{stepId}"), Limit("file_id", 1)), "concurrency.key", "file_id");
        await RefusedAsync(client.PutAsync(project.P($"actions/{stepId}"), Limit("event.file_id", 0)), "concurrency.limit", "at least 1");
        await RefusedAsync(client.PutAsync(project.P($"actions/{stepId}"), Limit("event.file_id", null)), "concurrency.limit", "needs a limit");
        await RefusedAsync(client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "bad", ["concurrency_limit"] = 0 }), "concurrency_limit", "at least 1");
        await RefusedAsync(client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["concurrency_limit"] = -2 }),
            "concurrency_limit", "at least 1");

        // Removed: the step's with a null limit and no key, the workflow's with 0.
        var removed = await client.PutAsync(project.P($"actions/{stepId}"), Limit(null, null));
        ApiAssert.Ok(removed);
        Assert.Null(removed.Json["action"]!["concurrency"]);
        var updated = await client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["concurrency_limit"] = 0 });
        ApiAssert.Ok(updated);
        Assert.Null(updated.Json["workflow"]!["concurrency_limit"]);
    }
}
