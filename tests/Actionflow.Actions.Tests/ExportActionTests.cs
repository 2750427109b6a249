using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Actions.Export;
using Actionflow.Core.Domain;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Actions.Tests;

/// <summary>export against a local server answering as Diffgram's export routes do (to_file, then status until complete).</summary>
public sealed class ExportActionTests
{
    private const string Project = "/api/walrus/project/proj-a/export";

    private static ActionTester<ExportAction> Tester() => new(s => s.AddBuiltInActions(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Actionflow:Webhooks:AllowPrivateNetworks"] = "true" }).Build()));

    private static TestEvent TaskCompleted() => new() { Kind = EventKinds.TaskCompleted, Id = 5, DirectoryId = 12, TaskId = 90 };

    private static JsonObject Config(LocalApi api, Action<JsonObject>? change = null)
    {
        var config = new JsonObject
        {
            ["diffgram_url"] = api.BaseUrl, ["project_string_id"] = "proj-a", ["client_id"] = "LIVE__abc", ["client_secret"] = "diffgram-secret-77",
            ["poll_interval_seconds"] = 1,
        };
        change?.Invoke(config);
        return config;
    }

    private static IResult Export(long id, string status, int percent, string? statusText = null) =>
        Results.Json(new JsonObject
        {
            ["success"] = true,
            ["export"] = new JsonObject { ["id"] = id, ["status"] = status, ["percent_complete"] = percent, ["status_text"] = statusText, ["kind"] = "Annotations" },
        });

    [Fact]
    public async Task Template_CompletesWithExportGenerateSuccess_AsDiffgramDeclares()
    {
        await using var tester = Tester();
        Assert.Equal("export", tester.Template.Kind);
        Assert.Equal("JSON Export", tester.Template.PublicName);
        Assert.Equal("export_generate_success", (string?)tester.Template.CompletionConditionData["default_event_name"]);
        Assert.True((bool)tester.Template.ConfigSchema["properties"]!["client_secret"]!["writeOnly"]!);
    }

    [Theory]
    [InlineData("""{"diffgram_url": "ftp://d.example", "project_string_id": "p"}""", "diffgram_url")]
    [InlineData("""{"diffgram_url": "https://d.example", "project_string_id": "p/../x"}""", "project_string_id")]
    [InlineData("""{"diffgram_url": "https://d.example", "project_string_id": "p", "source": "job"}""", "task_template_id")]
    [InlineData("""{"diffgram_url": "https://d.example", "project_string_id": "p", "client_secret": "s"}""", "client_id")]
    public void ValidateConfig_Invalid_NamesTheField(string config, string field)
    {
        using var services = TestHelpers.CreateServices(allowPrivateNetworks: false);
        var problems = services.GetRequiredService<ExportAction>()
            .ValidateConfig(System.Text.Json.JsonSerializer.Deserialize<ExportConfig>(JsonNode.Parse(config), Core.Json.JsonDefaults.SnakeCase)!);
        Assert.Contains(problems, p => p.Field == field);
    }

    [Fact]
    public async Task ExecuteAsync_ExportGeneratedAfterTwoChecks_CompletesWithExportGenerateSuccess()
    {
        var checks = 0;
        await using var api = await LocalApi.StartAsync(app =>
        {
            app.MapPost(Project + "/to_file", () => Export(31, "processing", 0));
            app.MapGet(Project + "/31/status", () => Interlocked.Increment(ref checks) < 2 ? Export(31, "processing", 50) : Export(31, "complete", 100));
        });
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), TaskCompleted());

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal("export_generate_success", result.CompletionEvent);
        Assert.Equal(31, (long)result.Output["export_id"]!);
        Assert.Equal("complete", (string?)result.Output["status"]);
        var start = api.Calls[0];
        Assert.Equal("POST", start.Method);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("LIVE__abc:diffgram-secret-77")), start.Header("Authorization"));
        var body = JsonNode.Parse(start.Body)!;
        Assert.Equal("directory", (string?)body["source"]);
        Assert.Equal(12, (long)body["directory_id"]!);
        Assert.Equal("Annotations", (string?)body["kind"]);
        Assert.False((bool)body["wait_for_export_generation"]!);
        Assert.Equal(3, api.Calls.Count);
        Assert.All(api.Calls.Skip(1), c => Assert.Equal(Project + "/31/status", c.PathAndQuery));
    }

    [Fact]
    public async Task ExecuteAsync_StatusCheckRateLimitedOnce_WaitsItOutWithoutStartingASecondExport()
    {
        var checks = 0;
        await using var api = await LocalApi.StartAsync(app =>
        {
            app.MapPost(Project + "/to_file", () => Export(32, "processing", 0));
            app.MapGet(Project + "/32/status", (HttpResponse response) =>
            {
                if (Interlocked.Increment(ref checks) == 1)
                {
                    response.Headers.RetryAfter = "2";
                    return Results.Text("429 Too Many Requests: 10 per 1 minute", statusCode: 429);
                }

                return Export(32, "complete", 100);
            });
        });
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), TaskCompleted());

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Single(api.Calls, c => c.Method == "POST");
        Assert.Equal(2, checks);
    }

    [Fact]
    public async Task ExecuteAsync_StartRateLimited429_RetriedAfterRetryAfter()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(Project + "/to_file", (HttpResponse response) =>
        {
            response.Headers.RetryAfter = "60";
            return Results.Text("429 Too Many Requests: 10 per 1 minute", statusCode: 429);
        }));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), TaskCompleted());

        Assert.Equal(ActionRunStatus.Retrying, result.Status);
        Assert.Equal(TimeSpan.FromSeconds(60), result.RetryAfter);
    }

    [Fact]
    public async Task ExecuteAsync_DiffgramRejects400_FinalFailureWithItsErrorLog()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(Project + "/to_file", () =>
            Results.Json(new { log = new { error = new { directory = "Invalid directory" }, success = false } }, statusCode: 400)));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), TaskCompleted());

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.EndsWith("directory: Invalid directory", result.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("diffgram-secret-77", result.FailureReason + result.Output.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ExportFails_FinalFailureWithDiffgramsStatusText()
    {
        await using var api = await LocalApi.StartAsync(app =>
        {
            app.MapPost(Project + "/to_file", () => Export(33, "processing", 0));
            app.MapGet(Project + "/33/status", () => Export(33, "failed", 40, "No files in directory"));
        });
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api), TaskCompleted());

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Equal("Diffgram failed to generate export 33: No files in directory", result.FailureReason);
    }

    [Fact]
    public async Task ExecuteAsync_NeverCompletes_FailsAtItsWaitLimitNotRetried()
    {
        await using var api = await LocalApi.StartAsync(app =>
        {
            app.MapPost(Project + "/to_file", () => Export(34, "processing", 0));
            app.MapGet(Project + "/34/status", () => Export(34, "processing", 10));
        });
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api, c => c["wait_timeout_seconds"] = 5), TaskCompleted());

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.False(result.IsRetryable);
        Assert.StartsWith("export 34 was not generated within 5s (last status: processing", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_JobSource_SendsTheTaskTemplateAsJobId()
    {
        await using var api = await LocalApi.StartAsync(app => app.MapPost(Project + "/to_file", () => Export(35, "complete", 100)));
        await using var tester = Tester();

        var result = await tester.RunAsync(Config(api, c => { c["source"] = "job"; c["task_template_id"] = 8; c["ann_is_complete"] = true; }), TaskCompleted());

        Assert.True(result.Succeeded, result.FailureReason);
        var body = JsonNode.Parse(Assert.Single(api.Calls).Body)!;
        Assert.Equal("job", (string?)body["source"]);
        Assert.Equal(8, (long)body["job_id"]!);
        Assert.True((bool)body["ann_is_complete"]!);
    }
}
