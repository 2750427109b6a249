using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.IntegrationTests.Api;
using Actionflow.IntegrationTests.Infrastructure;
using Actionflow.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Actionflow.IntegrationTests.Actions;

/// <summary>
/// Issue 14's workflow end to end: input_file_uploaded → hf_zero_shot (a local Inference API that rate-limits its first
/// call) → a condition on applied_option_label → email to accounts, else email to the mail room, through a real SMTP server.
/// </summary>
public sealed class ClassifyAndNotifyTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(PipelineMode.Embedded)]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    public async Task UploadedTexts_ClassifiedThenConditionRoutesTheMail_InvoiceToAccountsLetterToMailRoomOtherBranchSkipped(PipelineMode mode)
    {
        var calls = new ConcurrentQueue<(DateTime At, string? Auth, string Text)>();
        var served = 0;
        await using var hf = await StartAsync(app => app.MapPost("/models/facebook/bart-large-mnli", async (HttpRequest request, HttpResponse response) =>
        {
            var body = JsonNode.Parse(await new StreamReader(request.Body).ReadToEndAsync())!;
            var text = (string)body["inputs"]!;
            calls.Enqueue((DateTime.UtcNow, request.Headers.Authorization.ToString(), text));
            // Counted apart from the queue: two calls at once would both see a count of 2 there, and neither be limited.
            if (Interlocked.Increment(ref served) == 1)
            {
                // The Inference API's rate limit: the run must come back no sooner than this says.
                response.Headers.RetryAfter = "2";
                return Results.Json(new { error = "Rate limit reached. Please retry shortly." }, statusCode: 429);
            }

            var invoice = text.Contains("Total due", StringComparison.Ordinal);
            return Results.Json(new
            {
                sequence = text,
                labels = invoice ? new[] { "invoice", "letter" } : ["letter", "invoice"],
                scores = new[] { 0.93, 0.07 },
            });
        }));
        await using var smtp = await SmtpSink.StartAsync();
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var host = await pipeline.StartWorkerAsync();
        using var project = await TestProject.CreateAsync(host);
        var client = project.Editor;
        ApiAssert.Ok(await client.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "HF_TOKEN", ["value"] = "hf_e2e_token_9a7f" }), HttpStatusCode.Created);
        var workflowId = (long)(await client.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "classify and notify" })).Json["workflow"]!["id"]!;

        async Task<long> StepAsync(JsonObject body) =>
            (long)(await client.PostAsync(project.P($"actions/workflow/{workflowId}/action"), body)).Json["action"]!["id"]!;
        JsonObject Mail(string to) => new()
        {
            ["host"] = "127.0.0.1", ["port"] = smtp.Port, ["security"] = "none", ["from"] = "flows@example.com", ["to"] = to,
            ["subject"] = "File {{ event.file_id }}: {{ previous.applied_option_label }}",
            ["text_body"] = "File {{ event.file_id }} is a {{ previous.applied_option_label }} ({{ previous.score }}).",
        };

        var classify = await StepAsync(new JsonObject
        {
            ["kind"] = "hf_zero_shot",
            ["config_data"] = new JsonObject
            {
                ["text"] = "{{ event.extra_metadata.text }}", ["candidate_labels"] = new JsonArray("invoice", "letter"),
                ["label_ids"] = new JsonObject { ["invoice"] = 501, ["letter"] = 502 },
                ["base_url"] = hf.Url + "/models", ["token"] = "{{ secrets.HF_TOKEN }}",
            },
        });
        var accounts = await StepAsync(new JsonObject
        {
            ["kind"] = "email", ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" },
            ["depends_on"] = new JsonArray(classify), ["condition"] = "previous.applied_option_label == 'invoice'",
            ["config_data"] = Mail("accounts@example.com"),
        });
        var mailRoom = await StepAsync(new JsonObject
        {
            ["kind"] = "email", ["trigger_data"] = new JsonObject { ["event_name"] = "action_completed" },
            ["depends_on"] = new JsonArray(classify), ["else_branch"] = true,
            ["config_data"] = Mail("mailroom@example.com"),
        });
        ApiAssert.Ok(await client.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));
        await pipeline.WaitForDefinitionsAsync();

        ApiAssert.Ok(await client.PostAsync(project.P("events"), new JsonObject
        {
            ["kind"] = "input_file_uploaded", ["file_id"] = 11, ["extra_metadata"] = new JsonObject { ["text"] = "Total due: 120 EUR by 1 Dec" },
        }), HttpStatusCode.Accepted);
        ApiAssert.Ok(await client.PostAsync(project.P("events"), new JsonObject
        {
            ["kind"] = "input_file_uploaded", ["file_id"] = 12, ["extra_metadata"] = new JsonObject { ["text"] = "Dear Sir, thank you for your visit." },
        }), HttpStatusCode.Accepted);

        Assert.True(await Pipeline.EventuallyAsync(async () => (await pipeline.RunsAsync(project.Id)).Count(r => r.Status.IsTerminal()) == 6, Patience),
            "runs: " + string.Join(", ", (await pipeline.RunsAsync(project.Id)).Select(r => $"{r.ActionId}:{r.Status}:{r.ErrorReason}")));
        var mails = await smtp.WaitForAsync(2, Patience);

        Assert.Equal(2, mails.Count);
        var invoiceMail = Assert.Single(mails, m => m.RcptTos.SequenceEqual(["accounts@example.com"]));
        Assert.Equal("File 11: invoice", invoiceMail.Message.Subject);
        Assert.Equal("File 11 is a invoice (0.93).", invoiceMail.Message.TextBody?.Trim());
        var letterMail = Assert.Single(mails, m => m.RcptTos.SequenceEqual(["mailroom@example.com"]));
        Assert.Equal("File 12: letter", letterMail.Message.Subject);

        var runs = await pipeline.RunsAsync(project.Id);
        var events = await pipeline.EventsAsync();
        long FileOf(ActionRun run) => events.Single(e => e.Id == run.EventId).FileId ?? 0;
        var byFile = runs.GroupBy(r => r.WorkflowRunId).ToDictionary(g => FileOf(g.Single(r => r.ActionId == classify)), g => g.ToDictionary(r => r.ActionId));
        Assert.Equal(ActionRunStatus.Succeeded, byFile[11][accounts].Status);
        Assert.Equal(ActionRunStatus.Skipped, byFile[11][mailRoom].Status);
        Assert.Equal("else branch: a sibling's condition held", byFile[11][mailRoom].ErrorReason);
        Assert.Equal(ActionRunStatus.Skipped, byFile[12][accounts].Status);
        Assert.StartsWith("condition not met: previous.applied_option_label == 'invoice'", byFile[12][accounts].ErrorReason, StringComparison.Ordinal);
        Assert.Equal(ActionRunStatus.Succeeded, byFile[12][mailRoom].Status);
        Assert.Equal("invoice", (string?)byFile[11][classify].Output!["applied_option_label"]);
        Assert.Equal(501, (long)byFile[11][classify].Output!["applied_option_id"]!);
        Assert.Equal("letter", (string?)byFile[12][classify].Output!["applied_option_label"]);

        // The first classification was rate-limited: one run took a second attempt, no sooner than Retry-After said.
        Assert.Equal(3, calls.Count);
        Assert.Single(runs, r => r.ActionId == classify && r.Attempt == 2);
        var ordered = calls.ToArray();
        var retried = ordered.Skip(1).First(c => c.Text == ordered[0].Text);
        Assert.True(retried.At - ordered[0].At >= TimeSpan.FromSeconds(1.9), $"retried after {(retried.At - ordered[0].At).TotalMilliseconds} ms");
        Assert.All(ordered, c => Assert.Equal("Bearer hf_e2e_token_9a7f", c.Auth));
        Assert.All(runs, r => Assert.DoesNotContain("hf_e2e_token_9a7f", r.Output?.ToJsonString() ?? "", StringComparison.Ordinal));
    }

    private static async Task<LocalServer> StartAsync(Action<WebApplication> map)
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
