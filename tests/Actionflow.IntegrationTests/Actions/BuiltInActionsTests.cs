using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Api;
using Actionflow.IntegrationTests.Infrastructure;
using Actionflow.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Actionflow.IntegrationTests.Actions;

/// <summary>Issue 14's actions end to end: event → action → a real server on loopback → output recorded → the next step sees it.</summary>
public sealed class BuiltInActionsTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task HttpRequestThenTransform_UploadEvent_ResponseRecordedAndTransformSeesItAsPrevious()
    {
        var seen = new ConcurrentQueue<(string Path, string? Auth, string Body)>();
        await using var api = await StartApiAsync(app => app.MapPost("/classify/{file}", async (string file, HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            seen.Enqueue((request.Path + request.QueryString, request.Headers.Authorization.ToString(), await reader.ReadToEndAsync()));
            return Results.Json(new { file, labels = new[] { new { name = "cat", score = 0.91 }, new { name = "dog", score = 0.09 } } });
        }));
        using var project = await TestProject.CreateAsync(fixture.Host);
        var client = project.Editor;
        ApiAssert.Ok(await client.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "CLASSIFIER_TOKEN", ["value"] = "classifier-token-93ab" }), HttpStatusCode.Created);
        var workflowId = (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "classify" })).Json["workflow"]!["id"]!;
        var call = await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "http_request",
            ["config_data"] = new JsonObject
            {
                ["method"] = "POST",
                ["url"] = api.Url + "/classify/{{ event.file_id }}",
                ["query"] = new JsonObject { ["dir"] = "{{ event.directory_id }}" },
                ["headers"] = new JsonObject { ["Authorization"] = "Bearer {{ secrets.CLASSIFIER_TOKEN }}" },
                ["body"] = new JsonObject { ["note"] = "{{ event.extra_metadata.note }}" },
            },
        });
        ApiAssert.Ok(call);
        var shape = await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "transform",
            ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" },
            ["config_data"] = new JsonObject
            {
                ["script"] = "function transform(event, previous) {\n  const top = previous.body.labels[0];\n  return { label: top.name, score: top.score, status: previous.status_code };\n}",
            },
        });
        ApiAssert.Ok(shape);
        ApiAssert.Ok(await client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));

        ApiAssert.Ok(await client.PostAsync(project.P("events"), new JsonObject
        {
            ["kind"] = "input_file_uploaded", ["file_id"] = 41, ["directory_id"] = 6, ["extra_metadata"] = new JsonObject { ["note"] = "from scanner" },
        }), HttpStatusCode.Accepted);
        var run = await ApiAssert.EventuallyAsync(
            async () => (await client.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!
                .AsArray().FirstOrDefault() as JsonObject,
            r => (string?)r["status"] is "succeeded" or "failed" && r["action_runs"]!.AsArray().Count == 2, Patience, "the two-step run");
        Assert.Equal("succeeded", (string?)run["status"]);
        var detail = (await client.GetAsync(project.P($"workflow-runs/{(long)run["id"]!}"))).Json["workflow_run"]!["action_runs"]!.AsArray();

        var (path, auth, body) = Assert.Single(seen);
        Assert.Equal("/classify/41?dir=6", path);
        Assert.Equal("Bearer classifier-token-93ab", auth);
        Assert.Equal("""{"note":"from scanner"}""", body);
        Assert.Equal(200, (int)detail[0]!["output"]!["status_code"]!);
        Assert.Equal("cat", (string?)detail[0]!["output"]!["body"]!["labels"]![0]!["name"]);
        Assert.Equal("""{"label":"cat","score":0.91,"status":200}""", detail[1]!["output"]!.ToJsonString());
        Assert.All(client.Transcript, t => Assert.DoesNotContain("classifier-token-93ab", t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task EmailThenTransform_UploadEvent_MailArrivesAtTheRealSmtpServerAndTheNextStepSeesTheOutput()
    {
        await using var smtp = await SmtpSink.StartAsync("flows", "smtp-pw-5c1d");
        using var project = await TestProject.CreateAsync(fixture.Host);
        var client = project.Editor;
        ApiAssert.Ok(await client.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "SMTP_PASSWORD", ["value"] = "smtp-pw-5c1d" }), HttpStatusCode.Created);
        var workflowId = (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "notify" })).Json["workflow"]!["id"]!;
        ApiAssert.Ok(await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "email",
            ["config_data"] = new JsonObject
            {
                ["host"] = "127.0.0.1", ["port"] = smtp.Port, ["security"] = "none",
                ["user"] = "flows", ["password"] = "{{ secrets.SMTP_PASSWORD }}",
                ["from"] = "Actionflow <flows@example.com>", ["to"] = "{{ event.extra_metadata.owner }}", ["cc"] = "audit@example.com",
                ["subject"] = "File {{ event.file_id }} uploaded",
                ["text_body"] = "File {{ event.file_id }} arrived in directory {{ event.directory_id }}.",
                ["html_body"] = "<p>File <b>{{ event.file_id }}</b></p>",
            },
        }));
        ApiAssert.Ok(await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "transform",
            ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" },
            ["config_data"] = new JsonObject { ["script"] = "function transform(event, previous) { return { mailed: previous.message_id, to: previous.to }; }" },
        }));
        ApiAssert.Ok(await client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));

        ApiAssert.Ok(await client.PostAsync(project.P("events"), new JsonObject
        {
            ["kind"] = "input_file_uploaded", ["file_id"] = 77, ["directory_id"] = 6, ["extra_metadata"] = new JsonObject { ["owner"] = "owner@example.com" },
        }), HttpStatusCode.Accepted);
        var run = await ApiAssert.EventuallyAsync(
            async () => (await client.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!
                .AsArray().FirstOrDefault() as JsonObject,
            r => (string?)r["status"] is "succeeded" or "failed" && r["action_runs"]!.AsArray().Count == 2, Patience, "the two-step run");
        Assert.Equal("succeeded", (string?)run["status"]);
        var detail = (await client.GetAsync(project.P($"workflow-runs/{(long)run["id"]!}"))).Json["workflow_run"]!["action_runs"]!.AsArray();

        var mail = Assert.Single(await smtp.WaitForAsync(1, Patience));
        Assert.Equal("flows", mail.Login);
        Assert.Equal(["owner@example.com", "audit@example.com"], mail.RcptTos);
        Assert.Equal("File 77 uploaded", mail.Message.Subject);
        Assert.Equal("File 77 arrived in directory 6.", mail.Message.TextBody?.Trim());
        Assert.Equal("<p>File <b>77</b></p>", mail.Message.HtmlBody?.Trim());
        var messageId = (string?)detail[0]!["output"]!["message_id"];
        Assert.Equal(mail.Message.MessageId, messageId);
        Assert.Equal(messageId, (string?)detail[1]!["output"]!["mailed"]);
        Assert.Equal("""["owner@example.com"]""", detail[1]!["output"]!["to"]!.ToJsonString());
        Assert.All(client.Transcript, t => Assert.DoesNotContain("smtp-pw-5c1d", t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExportThenNoop_TaskCompleted_DiffgramGeneratesTheExportAndTheNextStepRunsOnExportGenerateSuccess()
    {
        var checks = 0;
        var started = new ConcurrentQueue<(string? Auth, string Body)>();
        await using var diffgram = await StartApiAsync(app =>
        {
            app.MapPost("/api/walrus/project/labeling/export/to_file", async (HttpRequest request) =>
            {
                using var reader = new StreamReader(request.Body);
                started.Enqueue((request.Headers.Authorization.ToString(), await reader.ReadToEndAsync()));
                return Results.Json(new { success = true, export = new { id = 71, status = "processing", percent_complete = 0 } });
            });
            app.MapGet("/api/walrus/project/labeling/export/71/status", () => Interlocked.Increment(ref checks) < 2
                ? Results.Json(new { success = true, export = new { id = 71, status = "processing", percent_complete = 60 } })
                : Results.Json(new { success = true, export = new { id = 71, status = "complete", percent_complete = 100, json_blob_name = "exports/71.json" } }));
        });
        using var project = await TestProject.CreateAsync(fixture.Host);
        var client = project.Editor;
        ApiAssert.Ok(await client.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "DIFFGRAM_SECRET", ["value"] = "dg-secret-e2e-31" }), HttpStatusCode.Created);
        var workflowId = (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "export" })).Json["workflow"]!["id"]!;
        ApiAssert.Ok(await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "export",
            ["config_data"] = new JsonObject
            {
                ["diffgram_url"] = diffgram.Url, ["project_string_id"] = "labeling", ["client_id"] = "LIVE__e2e", ["client_secret"] = "{{ secrets.DIFFGRAM_SECRET }}",
                ["poll_interval_seconds"] = 1,
            },
        }));
        ApiAssert.Ok(await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "transform",
            ["trigger_data"] = new JsonObject { ["event_name"] = "export_generate_success" },
            ["config_data"] = new JsonObject { ["script"] = "function transform(event, previous) { return { file: previous.export.json_blob_name, kind: event.kind }; }" },
        }));
        ApiAssert.Ok(await client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));

        ApiAssert.Ok(await client.PostAsync(project.P("events"), new JsonObject { ["kind"] = "task_completed", ["task_id"] = 5, ["directory_id"] = 9 }), HttpStatusCode.Accepted);
        var run = await ApiAssert.EventuallyAsync(
            async () => (await client.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!
                .AsArray().FirstOrDefault() as JsonObject,
            r => (string?)r["status"] is "succeeded" or "failed" && r["action_runs"]!.AsArray().Count == 2, Patience, "the export and the step after it");
        Assert.True((string?)run["status"] == "succeeded", run.ToJsonString());
        var detail = (await client.GetAsync(project.P($"workflow-runs/{(long)run["id"]!}"))).Json["workflow_run"]!["action_runs"]!.AsArray();

        var (auth, body) = Assert.Single(started);
        Assert.Equal("Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("LIVE__e2e:dg-secret-e2e-31")), auth);
        Assert.Equal(9, (long)JsonNode.Parse(body)!["directory_id"]!);
        Assert.Equal(71, (long)detail[0]!["output"]!["export_id"]!);
        Assert.Equal("""{"file":"exports/71.json","kind":"export_generate_success"}""", detail[1]!["output"]!.ToJsonString());
        Assert.All(client.Transcript, t => Assert.DoesNotContain("dg-secret-e2e-31", t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AzureSentiment_UploadEvent_SentimentRecordedFromTheLocalLanguageApi()
    {
        await using var azure = await StartApiAsync(app => app.MapPost("/language/{operation}", (string operation, HttpRequest request) =>
            operation == ":analyze-text" && request.Headers["Ocp-Apim-Subscription-Key"] == "az-key-e2e-12"
                ? Results.Json(JsonNode.Parse("""
                    {"kind": "SentimentAnalysisResults", "results": {"documents": [{"id": "1", "sentiment": "negative",
                      "confidenceScores": {"positive": 0.02, "neutral": 0.08, "negative": 0.9}, "sentences": [], "warnings": []}],
                      "errors": [], "modelVersion": "2022-11-01"}}
                    """))
                : Results.Json(JsonNode.Parse("""{"error": {"code": "401", "message": "Access denied due to invalid subscription key."}}"""), statusCode: 401)));
        using var project = await TestProject.CreateAsync(fixture.Host);
        var client = project.Editor;
        ApiAssert.Ok(await client.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "AZURE_ENDPOINT", ["value"] = azure.Url }), HttpStatusCode.Created);
        ApiAssert.Ok(await client.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "AZURE_KEY", ["value"] = "az-key-e2e-12" }), HttpStatusCode.Created);
        var workflowId = (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "sentiment" })).Json["workflow"]!["id"]!;
        ApiAssert.Ok(await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "azure_sentiment",
            ["config_data"] = new JsonObject { ["endpoint"] = "{{ secrets.AZURE_ENDPOINT }}", ["key"] = "{{ secrets.AZURE_KEY }}", ["text"] = "{{ event.extra_metadata.comment }}" },
        }));
        ApiAssert.Ok(await client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));

        ApiAssert.Ok(await client.PostAsync(project.P("events"), new JsonObject
        {
            ["kind"] = "input_file_uploaded", ["file_id"] = 3, ["extra_metadata"] = new JsonObject { ["comment"] = "Terrible labels." },
        }), HttpStatusCode.Accepted);
        var run = await ApiAssert.EventuallyAsync(
            async () => (await client.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId })).Json["workflow_run_list"]!
                .AsArray().FirstOrDefault() as JsonObject,
            r => (string?)r["status"] is "succeeded" or "failed", Patience, "the sentiment run");
        Assert.Equal("succeeded", (string?)run["status"]);
        var output = (await client.GetAsync(project.P($"workflow-runs/{(long)run["id"]!}"))).Json["workflow_run"]!["action_runs"]![0]!["output"]!;
        Assert.Equal("negative", (string?)output["sentiment"]);
        Assert.Equal(0.9, (double)output["confidence_scores"]!["negative"]!);
        Assert.All(client.Transcript, t => Assert.DoesNotContain("az-key-e2e-12", t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Transform_EndlessLoop_RunFailsWithinItsLimitWithTheReason()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var client = project.Editor;
        var workflowId = (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "loop" })).Json["workflow"]!["id"]!;
        var stepId = (long)(await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "transform",
            ["config_data"] = new JsonObject { ["script"] = "function transform() { for (;;) {} }", ["timeout_ms"] = 300 },
        })).Json["action"]!["id"]!;
        ApiAssert.Ok(await client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));

        ApiAssert.Ok(await client.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 1 }), HttpStatusCode.Accepted);
        var runs = await ApiAssert.EventuallyAsync(
            async () => (await client.GetAsync(project.P($"action/{stepId}/runs/list"))).Body as JsonObject,
            r => r["action_run_list"]?.AsArray().Any(x => (string?)x!["status"] == "failed") == true, Patience, "the transform run to fail");
        var failed = runs["action_run_list"]![0]!;
        Assert.Equal(1, (int)failed["attempt"]!);
        Assert.True((string?)failed["error_reason"] is "script ran longer than its time limit (300 ms)" or "script executed more statements than its limit (1000000)",
            (string?)failed["error_reason"]);
    }

    [Theory]
    [InlineData("http_request", """{"url": "https://api.example.com/{{ event.file_id "}""", "config_data.url")]
    [InlineData("http_request", """{"url": "https://api.example.com", "method": "FETCH"}""", "config_data.method")]
    [InlineData("transform", """{"script": "function transform( {"}""", "config_data.script")]
    [InlineData("hf_zero_shot", """{"text": "{{ event.extra_metadata.text }}", "candidate_labels": []}""", "config_data.candidate_labels")]
    [InlineData("azure_sentiment", """{"endpoint": "{{ secrets.E }}", "key": "k", "text": "{{ evnt.text }}"}""", "config_data.text")]
    [InlineData("export", """{"diffgram_url": "https://d.example", "project_string_id": "p", "source": "everything"}""", "config_data.source")]
    [InlineData("email", """{"host": "smtp.example.com", "from": "flows@example.com", "to": "not an address", "subject": "s", "text_body": "b"}""", "config_data.to")]
    [InlineData("email", """{"host": "smtp.example.com", "from": "flows@example.com", "to": "a@example.com", "subject": "s", "text_body": "b", "security": "ssl"}""", "config_data.security")]
    [InlineData("transform", """{"script": "function transform() {}", "timeout_ms": 999999}""", "config_data.timeout_ms")]
    public async Task SaveStep_InvalidConfig_400NamingTheField(string kind, string config, string field)
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var workflowId = (long)(await project.Editor.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "bad" })).Json["workflow"]!["id"]!;
        var response = await project.Editor.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = kind, ["config_data"] = JsonNode.Parse(config),
        });
        ApiAssert.Problem(response, HttpStatusCode.BadRequest, field);
    }

    private static async Task<LocalServer> StartApiAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new LocalServer(app, app.Urls.Single());
    }

    private sealed class LocalServer(WebApplication app, string url) : IAsyncDisposable
    {
        public string Url { get; } = url;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
