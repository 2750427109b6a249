using System.Text.Json.Nodes;
using Actionflow.Actions.Http;
using Actionflow.Core.Domain;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Actions.Tests;

public sealed class HttpRequestActionTests
{
    private static ActionTester<HttpRequestAction> Tester(bool allowPrivateNetworks = true) => new(s => s.AddBuiltInActions(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Actionflow:Webhooks:AllowPrivateNetworks"] = allowPrivateNetworks ? "true" : "false",
        }).Build()));

    private static TestEvent Completed(JsonObject previous) => new()
    {
        Kind = EventKinds.ActionCompleted, Id = 77, FileId = 55, ActionId = 9, WorkflowId = 1, ExtraMetadata = previous,
    };

    private static List<ConfigProblem> Problems(JsonObject config)
    {
        using var services = new ServiceCollection().AddBuiltInActions().BuildServiceProvider();
        var runner = services.GetRequiredService<HttpRequestAction>();
        return runner.ValidateConfig(System.Text.Json.JsonSerializer.Deserialize<HttpRequestConfig>(config, Core.Json.JsonDefaults.SnakeCase)!).ToList();
    }

    [Fact]
    public void Template_ConfigSchema_PublishesMethodPatternRequiredUrlAndSecretHeaders()
    {
        var schema = Tester().Template.ConfigSchema;
        Assert.Contains("url", schema["required"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$", (string?)schema["properties"]!["method"]!["pattern"]);
        Assert.True((bool)schema["properties"]!["headers"]!["additionalProperties"]!["writeOnly"]!);
        Assert.Equal(300, (int)schema["properties"]!["timeout_seconds"]!["maximum"]!);
    }

    [Theory]
    [InlineData("""{"url": "https://api.example.com/{{ event.file_id "}""", "url")]
    [InlineData("""{"url": "https://api.example.com/{{ evnt.file_id }}"}""", "url")]
    [InlineData("""{"url": "ftp://example.com/x"}""", "url")]
    [InlineData("""{"url": "https://a.example", "headers": {"Host": "x"}}""", "headers.Host")]
    [InlineData("""{"url": "https://a.example", "headers": {"X-A": "{{ nope }}"}}""", "headers.X-A")]
    [InlineData("""{"url": "https://a.example", "query": {"q": "{% if %}"}}""", "query.q")]
    [InlineData("""{"url": "https://a.example", "body_type": "form", "body": [1]}""", "body")]
    [InlineData("""{"url": "https://a.example", "body": {"a": ["{{ unknown }}"]}}""", "body.a[0]")]
    [InlineData("""{"url": "https://a.example", "success_statuses": "200-99"}""", "success_statuses")]
    public void ValidateConfig_Invalid_NamesTheField(string config, string field)
    {
        var problems = Problems(JsonNode.Parse(config)!.AsObject());
        Assert.Contains(problems, p => p.Field == field);
    }

    [Fact]
    public void ValidateConfig_TemplatesOverEventAndPrevious_NoProblem()
    {
        Assert.Empty(Problems(new JsonObject
        {
            ["url"] = "https://api.example.com/files/{{ event.file_id }}",
            ["headers"] = new JsonObject { ["X-Label"] = "{{ previous.applied_option_label | upcase }}" },
            ["body"] = new JsonObject { ["text"] = "{% if previous.score > 0.5 %}high{% endif %}" },
            ["success_statuses"] = "200-299, 404",
        }));
    }

    [Fact]
    public async Task ExecuteAsync_PostJsonTemplates_SendsRenderedRequest_ResponseBecomesOutput()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost("/items/{id}", (string id) =>
            Results.Json(new { created = id, ok = true }, statusCode: 201)));
        await using var tester = Tester();

        var result = await tester.RunAsync(new JsonObject
        {
            ["method"] = "POST",
            ["url"] = api.Url("items/{{ event.file_id }}"),
            ["query"] = new JsonObject { ["label"] = "{{ previous.label }}" },
            ["headers"] = new JsonObject { ["X-Run"] = "file-{{ event.file_id }}" },
            ["body"] = new JsonObject { ["label"] = "{{ previous.label }}", ["n"] = 3, ["nested"] = new JsonArray("{{ event.kind }}") },
        }, Completed(new JsonObject { ["label"] = "cat & dog" }));

        Assert.True(result.Succeeded, result.FailureReason);
        var call = Assert.Single(api.Calls);
        Assert.Equal("POST", call.Method);
        Assert.Equal("/items/55?label=cat%20%26%20dog", call.PathAndQuery);
        Assert.Equal("file-55", call.Header("X-Run"));
        Assert.StartsWith("application/json", call.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Equal("""{"label":"cat & dog","n":3,"nested":["action_completed"]}""", call.Body);
        Assert.Equal(201, (int)result.Output["status_code"]!);
        Assert.Equal("55", (string?)result.Output["body"]!["created"]);
        Assert.StartsWith("application/json", (string?)result.Output["headers"]!["content-type"], StringComparison.Ordinal);
        Assert.Equal(api.Url("items/55"), (string?)result.Output["url"]);
        Assert.False((bool)result.Output["body_truncated"]!);
    }

    [Fact]
    public async Task ExecuteAsync_FormBody_SentUrlEncoded()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPut("/form", () => Results.Text("done")));
        await using var tester = Tester();

        var result = await tester.RunAsync(new JsonObject
        {
            ["method"] = "PUT", ["url"] = api.Url("form"), ["body_type"] = "form",
            ["body"] = new JsonObject { ["file"] = "{{ event.file_id }}", ["note"] = "a b" },
        }, Completed([]));

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal("file=55&note=a+b", Assert.Single(api.Calls).Body);
        Assert.Equal("done", (string?)result.Output["body"]);
    }

    [Theory]
    [InlineData(404, "200-299", false, false)]
    [InlineData(404, "200-299,404", true, false)]
    [InlineData(503, "200-299", false, true)]
    [InlineData(408, "200-299", false, true)]
    [InlineData(400, "200-299", false, false)]
    public async Task ExecuteAsync_Status_SuccessAsConfiguredElseClassifiedForRetry(int status, string success, bool succeeded, bool retryable)
    {
        await using var api = await LocalApi.StartAsync(app => app.MapGet("/s", () => Results.Json(new { error = "nope" }, statusCode: status)));
        await using var tester = Tester();

        var result = await tester.RunAsync(new JsonObject { ["url"] = api.Url("s"), ["success_statuses"] = success });

        Assert.Equal(succeeded, result.Succeeded);
        Assert.Equal(status, (int)result.Output["status_code"]!);
        Assert.Equal("nope", (string?)result.Output["body"]!["error"]);
        if (!succeeded)
        {
            Assert.Equal(retryable, result.IsRetryable);
            Assert.StartsWith($"HTTP {status} ", result.FailureReason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ExecuteAsync_429WithRetryAfter_RetryableNotBeforeIt()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapGet("/limited", (HttpResponse response) =>
        {
            response.Headers.RetryAfter = "9";
            return Results.Json(new { error = "rate limited" }, statusCode: 429);
        }));
        await using var tester = Tester();

        var result = await tester.RunAsync(new JsonObject { ["url"] = api.Url("limited") });

        Assert.True(result.IsRetryable);
        Assert.Equal(TimeSpan.FromSeconds(9), result.RetryAfter);
    }

    [Fact]
    public async Task ExecuteAsync_LargeResponse_CappedAsTruncatedText()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapGet("/big", () => Results.Json(Enumerable.Range(0, 5000).ToArray())));
        await using var tester = Tester();

        var result = await tester.RunAsync(new JsonObject { ["url"] = api.Url("big"), ["max_response_bytes"] = 1024 });

        Assert.True(result.Succeeded);
        Assert.True((bool)result.Output["body_truncated"]!);
        Assert.Equal(1024, ((string)result.Output["body"]!).Length);
    }

    [Fact]
    public async Task ExecuteAsync_UnknownVariableAtRun_FailsFinallyNamingTheField()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapGet("/x", () => "x"));
        await using var tester = Tester();

        var result = await tester.RunAsync(new JsonObject { ["url"] = api.Url("x/{{ previous.missing }}") }, Completed([]));

        Assert.True(result.Status == ActionRunStatus.Failed, result.FailureReason);
        Assert.False(result.IsRetryable);
        Assert.StartsWith("url: the template failed", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(api.Calls);
    }

    [Fact]
    public async Task ExecuteAsync_LoopbackWithoutAllowPrivateNetworks_RefusedWithoutSending()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapGet("/x", () => "x"));
        await using var tester = Tester(allowPrivateNetworks: false);

        var result = await tester.RunAsync(new JsonObject { ["url"] = api.Url("x").Replace("127.0.0.1", "{{ 'localhost' }}", StringComparison.Ordinal) });

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Contains("may not reach; set Actionflow__Webhooks__AllowPrivateNetworks=true to allow it", result.FailureReason, StringComparison.Ordinal);
        Assert.Empty(api.Calls);
    }
}
