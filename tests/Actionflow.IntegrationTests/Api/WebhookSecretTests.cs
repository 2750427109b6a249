using System.Net;
using System.Text.Json.Nodes;
using Actionflow.Core.Secrets;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>
/// Issue 16, findings 2 and 4: credentials in Webhook headers are secrets, masked for every role and write-only; a
/// token in a URL's query reaches no run error, output or log line.
/// </summary>
public sealed class WebhookSecretTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private const string Credential = "Bearer cred-do-not-show-7d2e";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task WebhookHeaders_ReadByEveryRole_ValuesMasked_MaskSentBackKeepsTheStoredValue()
    {
        await using var receiver = await WebhookReceiver.StartAsync("headers-secret");
        using var project = await TestProject.CreateAsync(fixture.Host);
        var api = project.Editor;
        var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "headers" })).Json["workflow"]!["id"]!;
        var created = await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "Webhook",
            ["config_data"] = new JsonObject
            {
                ["url"] = receiver.Url("headers"),
                ["headers"] = new JsonObject { ["Authorization"] = Credential, ["X-Team"] = "blue" },
            },
        });
        ApiAssert.Ok(created);
        var stepId = (long)created.Json["action"]!["id"]!;
        Assert.Equal("********", (string?)created.Json["action"]!["config_data"]!["headers"]!["Authorization"]);

        foreach (var client in (ApiClient[])[project.Viewer, project.Editor, project.Admin])
        {
            var read = await client.GetAsync(project.P($"workflow/{workflowId}"));
            ApiAssert.Ok(read);
            var headers = read.Json["workflow"]!["actions_list"]![0]!["config_data"]!["headers"]!.AsObject();
            Assert.Equal(["Authorization", "X-Team"], headers.Select(h => h.Key).Order(StringComparer.Ordinal));
            Assert.All(headers, h => Assert.Equal("********", (string?)h.Value));
        }

        // The builder sends the whole step back, masks included, with one change: the stored values stay.
        var step = (await api.GetAsync(project.P($"workflow/{workflowId}"))).Json["workflow"]!["actions_list"]![0]!.AsObject();
        step["public_name"] = "Notify";
        step["config_data"]!["headers"]!["X-New"] = "added";
        ApiAssert.Ok(await api.PutAsync(project.P($"actions/{stepId}"), step.DeepClone()));
        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));
        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 3 }), HttpStatusCode.Accepted);
        await ApiAssert.EventuallyAsync(
            async () => (await api.GetAsync(project.P($"action/{stepId}/runs/list"))).Body as JsonObject,
            r => r["action_run_list"]?.AsArray().Any(x => (string?)x!["status"] == "succeeded") == true, Patience, "the webhook run");
        var delivered = Assert.Single(receiver.Deliveries).Headers!;
        Assert.Equal(Credential, delivered["Authorization"]);
        Assert.Equal("blue", delivered["X-Team"]);
        Assert.Equal("added", delivered["X-New"]);

        // A header left out of the map is removed; the masked one sent back alone keeps its value.
        var trimmed = await api.PutAsync(project.P($"actions/{stepId}"), new JsonObject
        {
            ["config_data"] = new JsonObject { ["url"] = receiver.Url("headers"), ["headers"] = new JsonObject { ["Authorization"] = "********" } },
        });
        ApiAssert.Ok(trimmed);
        await using (var db = await fixture.Pipeline.Contexts.CreateDbContextAsync())
        {
            var stored = db.Set<Actionflow.Core.Domain.WorkflowAction>().Single(a => a.Id == stepId).ConfigData["headers"]!.AsObject();
            Assert.Equal(["Authorization"], stored.Select(h => h.Key));
            // Stored sealed, never in clear; it opens to the credential with the installation's key.
            var sealedValue = (string)stored["Authorization"]!;
            Assert.StartsWith(SecretCipher.Prefix, sealedValue, StringComparison.Ordinal);
            Assert.Equal(Credential, SecretCipher.Open(TestSecrets.Ring(), sealedValue, SecretCipher.ConfigScope(project.Id)));
        }

        await api.GetAsync(project.P($"action/{stepId}/runs/list"));
        await api.GetAsync(project.P("events"));
        await project.Viewer.GetAsync(project.P($"action/previous/{stepId}"));
        var everything = api.Transcript.Concat(project.Viewer.Transcript).Concat(project.Admin.Transcript);
        Assert.All(everything, body => Assert.DoesNotContain("cred-do-not-show", body, StringComparison.Ordinal));
        Assert.DoesNotContain("cred-do-not-show", fixture.Host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebhookUrlWithTokenInQuery_FailedRun_TokenInNoRunErrorOutputOrLogLine()
    {
        await using var receiver = await WebhookReceiver.StartAsync("query-secret");
        using var project = await TestProject.CreateAsync(fixture.Host);
        var api = project.Editor;
        const string token = "qtok-never-logged-5b1a";
        var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "query" })).Json["workflow"]!["id"]!;
        var stepId = (long)(await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "Webhook",
            ["config_data"] = new JsonObject { ["url"] = receiver.Url($"fail/query?access_token={token}") },
            ["retry_policy"] = new JsonObject { ["max_attempts"] = 1 },
        })).Json["action"]!["id"]!;
        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));

        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 4 }), HttpStatusCode.Accepted);
        // Read through another client: the step's own config_data.url (not a secret) carries the token by design.
        var viewer = project.Viewer;
        var runs = await ApiAssert.EventuallyAsync(
            async () => (await viewer.GetAsync(project.P($"action/{stepId}/runs/list"))).Body as JsonObject,
            r => r["action_run_list"]?.AsArray().Any(x => (string?)x!["status"] == "failed") == true, Patience, "the webhook run to fail");

        var run = runs["action_run_list"]![0]!;
        Assert.Equal($"HTTP 500 Internal Server Error from {receiver.Url("fail/query")}", (string?)run["error_reason"]);
        Assert.Equal(receiver.Url("fail/query"), (string?)run["output"]!["url"]);
        Assert.Single(receiver.Deliveries);
        var failedEvents = await viewer.GetAsync(project.P("events?kind=action_failed"));
        Assert.Single(failedEvents.Json["event_list"]!.AsArray());
        var workflowRuns = await viewer.PostAsync(project.P("action/workflow-run/list"), new JsonObject { ["flow_id"] = workflowId });
        await viewer.GetAsync(project.P($"workflow-runs/{(long)workflowRuns.Json["workflow_run_list"]![0]!["id"]!}"));
        Assert.All(viewer.Transcript, body => Assert.DoesNotContain(token, body, StringComparison.Ordinal));
        Assert.DoesNotContain(token, fixture.Host.Output, StringComparison.Ordinal);
    }
}
