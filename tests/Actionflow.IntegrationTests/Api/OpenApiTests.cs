using System.Net;
using System.Text.Json.Nodes;

namespace Actionflow.IntegrationTests.Api;

public sealed class OpenApiTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private const string P = "/api/v1/project/{project_string_id}/";

    /// <summary>Every API route: method, path, whether it takes a JSON body, its success status.</summary>
    public static TheoryData<string, string, bool, string> Routes => new()
    {
        { "post", P + "actions/workflow/new", true, "200" },
        { "get", P + "workflow/{workflow_id}", false, "200" },
        { "post", P + "action/flow/list", true, "200" },
        { "post", P + "action/workflow-run/list", true, "200" },
        { "put", P + "actions/workflow/update", true, "200" },
        { "get", P + "workflow/{workflow_id}/schedule", false, "200" },
        { "post", P + "actions/schedule/preview", true, "200" },
        { "post", P + "actions/workflow/{workflow_id}/action", true, "200" },
        { "put", P + "actions/{action_id}", true, "200" },
        { "put", P + "workflow/{workflow_id}/actions/{action_id}/manual_trigger", false, "202" },
        { "get", P + "action/previous/{action_id}", false, "200" },
        { "get", P + "action/{action_id}/runs/list", false, "200" },
        { "get", P + "action-template/list", false, "200" },
        { "get", P + "action-template/{action_template_id}", false, "200" },
        { "post", P + "events", true, "202" },
        { "get", P + "events", false, "200" },
        { "get", P + "workflow-runs/{workflow_run_id}", false, "200" },
        { "post", P + "workflow-runs/{workflow_run_id}/retry", false, "202" },
        { "post", P + "workflow-runs/{workflow_run_id}/cancel", false, "200" },
        { "post", P + "workflow-runs/{workflow_run_id}/rerun", true, "202" },
        { "post", "/api/v1/projects", true, "201" },
        { "post", P + "api-keys", true, "201" },
        { "get", P + "api-keys", false, "200" },
        { "delete", P + "api-keys/{client_id}", false, "204" },
        { "post", P + "secrets", true, "201" },
        { "get", P + "secrets", false, "200" },
        { "delete", P + "secrets/{name}", false, "204" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task OpenApiDocument_Route_ListedWithRequestAndResponseSchemas(string method, string path, bool hasBody, string success)
    {
        var document = await DocumentAsync();
        var operation = document["paths"]?[path]?[method]?.AsObject();
        Assert.True(operation is not null, $"{method.ToUpperInvariant()} {path} is not in the document");

        if (hasBody)
        {
            Assert.NotNull(operation["requestBody"]!["content"]!["application/json"]!["schema"]);
        }

        var responses = operation["responses"]!.AsObject();
        Assert.True(responses.ContainsKey(success), $"no {success} response: {responses.ToJsonString()}");
        if (success != "204")
        {
            var schema = responses[success]!["content"]!["application/json"]!["schema"]!;
            var name = ((string?)schema["$ref"])?.Split('/')[^1];
            Assert.True(name is not null && document["components"]!["schemas"]![name] is JsonObject, $"response schema missing: {schema.ToJsonString()}");
        }

        Assert.True(responses.ContainsKey("401"));
        Assert.NotEmpty(operation["security"]!.AsArray());
        Assert.NotNull(operation["operationId"]);
    }

    [Fact]
    public async Task OpenApiDocument_DeclaresBasicAndBearer_AndSnakeCaseSchemas()
    {
        var document = await DocumentAsync();
        var schemes = document["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal("basic", (string?)schemes["basic"]!["scheme"]);
        Assert.Equal("bearer", (string?)schemes["bearer"]!["scheme"]);
        var action = document["components"]!["schemas"]!["ActionDto"]!["properties"]!.AsObject();
        foreach (var key in (string[])["trigger_data", "precondition", "completion_condition_data", "config_data", "output_interface", "ordinal", "template_id", "public_name"])
        {
            Assert.True(action.ContainsKey(key), key);
        }

        var workflow = document["components"]!["schemas"]!["WorkflowDto"]!["properties"]!.AsObject();
        foreach (var key in (string[])["next_fire_at", "last_fire", "catch_up", "schedules"])
        {
            Assert.True(workflow.ContainsKey(key), key);
        }
    }

    [Fact]
    public async Task OpenApiDocument_FlowControlFields_DescribedWithExamples()
    {
        var document = await DocumentAsync();
        var schemas = document["components"]!["schemas"]!;
        foreach (var type in (string[])["CreateActionRequest", "UpdateActionRequest", "ActionDto"])
        {
            var properties = schemas[type]!["properties"]!.AsObject();
            foreach (var field in (string[])["depends_on", "condition", "else_branch", "join", "on_predecessor_failure", "concurrency"])
            {
                Assert.True(properties[field]?["description"] is JsonValue, $"{type}.{field} has no description: {properties[field]?.ToJsonString()}");
            }

            Assert.Contains("filter", (string?)properties["trigger_data"]!["description"], StringComparison.Ordinal);
            Assert.Equal("previous.score > 0.8", (string?)properties["condition"]!["examples"]![0]);
        }

        Assert.Equal("event.file_id", (string?)schemas["StepConcurrencyDto"]!["examples"]![0]!["key"]);
        Assert.NotNull(schemas["CreateWorkflowRequest"]!["properties"]!["concurrency_limit"]!["description"]);
        var rerun = schemas["RerunRequest"]!;
        Assert.Equal(102, (int)rerun["examples"]![0]!["from_action_id"]!);
        Assert.NotNull(rerun["properties"]!["input"]!["description"]);
    }

    [Fact]
    public async Task ReferencePage_And_Health_ServedWithoutCredentials()
    {
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress };
        var page = await http.GetAsync("scalar/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("openapi/v1.json", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var ready = JsonNode.Parse(await http.GetStringAsync("health/ready"))!;
        Assert.Equal("ready", (string?)ready["status"]);
        Assert.True((bool?)ready["broker"], "with RabbitMQ, readiness includes the broker connection");
    }

    private async Task<JsonObject> DocumentAsync()
    {
        using var http = new HttpClient { BaseAddress = fixture.Host.BaseAddress };
        return JsonNode.Parse(await http.GetStringAsync("openapi/v1.json"))!.AsObject();
    }
}
