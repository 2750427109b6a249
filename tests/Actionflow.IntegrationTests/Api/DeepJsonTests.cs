using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.IntegrationTests.Api;

/// <summary>
/// Issue 16, finding 1: JSON nested deeper than responses can be written. Sent through events, every JSON field of a
/// step and a receiver's answer, and already sitting in the database; after each, every read route of the project
/// answers, never 5xx.
/// </summary>
public sealed class DeepJsonTests
{
    private const int Limit = 32;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private static readonly string[] StepFields = ["config_data", "precondition", "trigger_data", "completion_condition_data", "output_interface", "retry_policy"];

    [Theory]
    [InlineData(PipelineMode.Embedded)]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    public async Task DeepJson_ThroughEventsStepsAndReceiver_RefusedBeforeSavingOrReadBack_NoRouteEver5xx(PipelineMode mode)
    {
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var host = await pipeline.StartWorkerAsync();
        await using var receiver = await WebhookReceiver.StartAsync("deep-json-secret");
        using var project = await TestProject.CreateAsync(host);
        var api = project.Editor;

        var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "deep" })).Json["workflow"]!["id"]!;
        var webhook = (long)(await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "Webhook",
            ["config_data"] = new JsonObject { ["url"] = receiver.Url("deep/60/answer") },
        })).Json["action"]!["id"]!;
        var noop = (long)(await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "noop", ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" },
        })).Json["action"]!["id"]!;
        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));

        // A receiver answering JSON nested 60 levels: the run succeeds and its output reads back.
        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 1 }), HttpStatusCode.Accepted);
        await ApiAssert.EventuallyAsync(
            async () => (await api.GetAsync(project.P($"action/{noop}/runs/list"))).Body as JsonObject,
            r => r["action_run_list"]?.AsArray().Any(x => (string?)x!["status"] == "succeeded") == true, Patience, "the chain after the deep answer");
        var webhookRuns = await api.GetAsync(project.P($"action/{webhook}/runs/list"));
        ApiAssert.Ok(webhookRuns);
        var output = webhookRuns.Json["action_run_list"]![0]!["output"]!;
        Assert.Equal(200, (int?)output["status_code"]);
        Assert.Equal(WebhookReceiver.DeepJson(60), (string?)output["response"]);
        await AssertEveryReadAnswersAsync(project, workflowId, webhook, noop);

        // Deep input through every JSON field is refused with a 400 naming the field, and nothing is saved.
        var eventsBefore = await CountEventsAsync(pipeline, project.Id);
        foreach (var depth in Enumerable.Range(60, 11).Append(Limit + 1))
        {
            var emitted = await SendAsync(api, HttpMethod.Post, project.P("events"), $"{{\"kind\": \"deep\", \"extra_metadata\": {Deep(depth)}}}");
            ApiAssert.Problem(emitted, HttpStatusCode.BadRequest, "extra_metadata");
            foreach (var field in StepFields)
            {
                var updated = await SendAsync(api, HttpMethod.Put, project.P($"actions/{noop}"), $"{{\"{field}\": {Deep(depth)}}}");
                ApiAssert.Problem(updated, HttpStatusCode.BadRequest, field);
                var created = await SendAsync(api, HttpMethod.Post, project.P($"actions/workflow/{workflowId}/action"),
                    $"{{\"kind\": \"noop\", \"active\": false, \"{field}\": {Deep(depth)}}}");
                ApiAssert.Problem(created, HttpStatusCode.BadRequest, field);
            }
        }

        Assert.Equal(eventsBefore, await CountEventsAsync(pipeline, project.Id));
        var steps = (await api.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!["actions_list"]!.AsArray();
        Assert.Equal(2, steps.Count);

        // At the limit itself, the document is saved and reads back whole.
        var atLimit = new JsonObject { ["kind"] = "deep", ["extra_metadata"] = JsonNode.Parse(Deep(Limit)) };
        ApiAssert.Ok(await api.PostAsync(project.P("events"), atLimit), HttpStatusCode.Accepted);
        var listed = (await api.GetAsync(project.P("events?kind=deep"))).Json["event_list"]!.AsArray();
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Deep(Limit)), Assert.Single(listed)!["extra_metadata"]), listed.ToJsonString());

        // Documents already too deep in the database (saved before the limit existed) read back with their deepest
        // levels as JSON text, and every route still answers.
        await StoreTooDeepRowsAsync(pipeline, project.Id, noop);
        await AssertEveryReadAnswersAsync(project, workflowId, webhook, noop);
        var oldEvent = (await api.GetAsync(project.P("events?kind=stored_deep"))).Json["event_list"]![0]!["extra_metadata"]!;
        Assert.Equal(Limit, DepthOf(oldEvent));
        var text = (string?)Descend(oldEvent, Limit - 1)["a"];
        Assert.NotNull(text);
        Assert.Equal(60 - Limit, DepthOf(JsonNode.Parse(text!)!));
        var step = (await api.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!["actions_list"]!.AsArray()
            .Single(a => (long)a!["id"]! == noop)!;
        Assert.Equal(Limit, DepthOf(step["config_data"]!));
    }

    private static async Task AssertEveryReadAnswersAsync(TestProject project, long workflowId, long webhook, long noop)
    {
        var workflowRun = (long)(await project.Viewer.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId }))
            .Json["workflow_run_list"]![0]!["id"]!;
        var reads = new (HttpMethod Method, string Route, JsonObject? Body)[]
        {
            (HttpMethod.Get, "events", null),
            (HttpMethod.Get, "events?page_size=1", null),
            (HttpMethod.Get, "events?page=1&page_size=1", null),
            (HttpMethod.Get, "events?kind=action_completed", null),
            (HttpMethod.Get, "events?kind=stored_deep", null),
            (HttpMethod.Get, $"events?since={Uri.EscapeDataString(DateTime.UtcNow.AddHours(-1).ToString("O"))}", null),
            (HttpMethod.Get, $"workflow/{workflowId}", null),
            (HttpMethod.Post, "action/flow/list", new JsonObject()),
            (HttpMethod.Post, "action/workflow-run/list", new JsonObject { ["flow_id"] = workflowId }),
            (HttpMethod.Get, $"action/{webhook}/runs/list", null),
            (HttpMethod.Get, $"action/{noop}/runs/list", null),
            (HttpMethod.Get, $"action/previous/{noop}", null),
            (HttpMethod.Get, $"workflow-runs/{workflowRun}", null),
            (HttpMethod.Get, "dead-letters", null),
            (HttpMethod.Get, "action-template/list", null),
        };
        foreach (var (method, route, body) in reads)
        {
            var response = await project.Viewer.SendAsync(method, project.P(route), body);
            Assert.True(response.Status == HttpStatusCode.OK, $"{method} {route}: {response}");
        }
    }

    /// <summary>Rows as an older version let them be saved: nested 60 levels.</summary>
    private static async Task StoreTooDeepRowsAsync(Pipeline pipeline, long projectId, long actionId)
    {
        var deep = JsonNode.Parse(Deep(60))!.AsObject();
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        db.Add(new Event { Kind = "stored_deep", ProjectId = projectId, ExtraMetadata = deep.DeepClone().AsObject(), Payload = [], Source = "api", TimeCreated = DateTime.UtcNow });
        var action = await db.Set<WorkflowAction>().SingleAsync(a => a.Id == actionId);
        action.ConfigData = deep.DeepClone().AsObject();
        action.Precondition = deep.DeepClone().AsObject();
        var run = await db.Set<ActionRun>().Where(r => r.ActionId == actionId).OrderBy(r => r.Id).FirstAsync();
        run.Output = deep.DeepClone().AsObject();
        db.Add(new DeadLetter
        {
            ProjectId = projectId,
            Queue = "events",
            Body = Encoding.UTF8.GetBytes(Deep(60)),
            Headers = "{\"x-actionflow-reason\": \"stored deep\"}",
            Reason = "stored deep",
            TimeCreated = DateTime.UtcNow,
        });
        await db.SaveChangesAsync();
    }

    private static async Task<int> CountEventsAsync(Pipeline pipeline, long projectId)
    {
        await using var db = await pipeline.Contexts.CreateDbContextAsync();
        return await db.Set<Event>().CountAsync(e => e.ProjectId == projectId);
    }

    private static Task<ApiResponse> SendAsync(ApiClient api, HttpMethod method, string path, string body) =>
        api.SendRawAsync(method, path, new StringContent(body, Encoding.UTF8, "application/json"));

    private static string Deep(int depth) => WebhookReceiver.DeepJson(depth);

    private static JsonNode Descend(JsonNode node, int levels)
    {
        for (var i = 0; i < levels; i++)
        {
            node = node["a"]!;
        }

        return node;
    }

    private static int DepthOf(JsonNode node) => node switch
    {
        JsonObject o => 1 + o.Select(p => p.Value is null ? 0 : DepthOf(p.Value)).DefaultIfEmpty(0).Max(),
        JsonArray a => 1 + a.Select(v => v is null ? 0 : DepthOf(v)).DefaultIfEmpty(0).Max(),
        _ => 0,
    };
}
