using System.Net;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Secrets;
using Actionflow.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.IntegrationTests.Api;

/// <summary>Issue 14, the secrets store: roles, resolution at execution, redaction, encryption at rest, rotation.</summary>
public sealed class SecretsTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SecretsRoutes_ByRole_ViewerCannotListEditorSetsAndListsNamesNeverValues()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        const string value = "sv-never-returned-81f3";

        ApiAssert.Problem(await project.Viewer.GetAsync(project.P("secrets")), HttpStatusCode.Forbidden);
        ApiAssert.Problem(await project.Viewer.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "X", ["value"] = value }), HttpStatusCode.Forbidden);

        var created = await project.Editor.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "API_TOKEN", ["value"] = value, ["description"] = "for the CRM" });
        ApiAssert.Ok(created, HttpStatusCode.Created);
        Assert.Equal("API_TOKEN", (string?)created.Json["secret"]!["name"]);
        Assert.Equal("for the CRM", (string?)created.Json["secret"]!["description"]);
        var replaced = await project.Editor.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "API_TOKEN", ["value"] = value + "-2" });
        ApiAssert.Ok(replaced);
        Assert.Equal("for the CRM", (string?)replaced.Json["secret"]!["description"]);

        var list = await project.Editor.GetAsync(project.P("secrets"));
        ApiAssert.Ok(list);
        var only = Assert.Single(list.Json["secret_list"]!.AsArray())!.AsObject();
        Assert.Equal(["description", "key_id", "name", "time_created", "time_updated"], only.Select(p => p.Key).Order(StringComparer.Ordinal));

        ApiAssert.Problem(await project.Editor.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "1bad-name", ["value"] = "x" }), HttpStatusCode.BadRequest, "name");
        ApiAssert.Problem(await project.Editor.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "EMPTY", ["value"] = "" }), HttpStatusCode.BadRequest, "value");
        ApiAssert.Problem(await project.Editor.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "T", ["value"] = "a{{ event }}" }), HttpStatusCode.BadRequest, "value");

        // Another project's key sees nothing of this one's secrets.
        using var other = await TestProject.CreateAsync(fixture.Host);
        ApiAssert.Ok(await other.Editor.GetAsync(other.P("secrets")));
        Assert.Empty((await other.Editor.GetAsync(other.P("secrets"))).Json["secret_list"]!.AsArray());
        ApiAssert.Problem(await other.Editor.GetAsync(project.P("secrets")), HttpStatusCode.NotFound);

        ApiAssert.Ok(await project.Editor.DeleteAsync(project.P("secrets/API_TOKEN")), HttpStatusCode.NoContent);
        ApiAssert.Problem(await project.Editor.DeleteAsync(project.P("secrets/API_TOKEN")), HttpStatusCode.NotFound);
        Assert.All(project.Editor.Transcript.Concat(project.Viewer.Transcript), body => Assert.DoesNotContain("sv-never-returned", body, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(PipelineMode.RabbitMqPostgres)]
    [InlineData(PipelineMode.Embedded)]
    public async Task SecretReference_WebhookRun_ResolvedAtExecutionRedactedFromOutput_NoValueInDatabaseDumpOrDebugLog(PipelineMode mode)
    {
        const string token = "tok-at-rest-check-5e7a90";
        const string signing = "sign-at-rest-check-c41d22";
        await using var receiver = await WebhookReceiver.StartAsync(signing);
        await using var pipeline = await Pipeline.CreateAsync(mode);
        var host = await pipeline.StartWorkerAsync(new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Debug" });
        using var project = await TestProject.CreateAsync(host);
        var api = project.Editor;
        ApiAssert.Ok(await api.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "CRM_TOKEN", ["value"] = token }), HttpStatusCode.Created);

        var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "secrets" })).Json["workflow"]!["id"]!;
        var step = await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "Webhook",
            ["config_data"] = new JsonObject
            {
                ["url"] = receiver.Url("echo/crm"),
                ["headers"] = new JsonObject { ["Authorization"] = "Bearer {{ secrets.CRM_TOKEN }}" },
                ["secret"] = signing,
            },
            ["retry_policy"] = new JsonObject { ["max_attempts"] = 1 },
        });
        ApiAssert.Ok(step);
        var stepId = (long)step.Json["action"]!["id"]!;
        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));
        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 7 }), HttpStatusCode.Accepted);
        var runs = await ApiAssert.EventuallyAsync(
            async () => (await api.GetAsync(project.P($"action/{stepId}/runs/list"))).Body as JsonObject,
            r => r["action_run_list"]?.AsArray().Any(x => (string?)x!["status"] is "succeeded" or "failed") == true, Patience, "the webhook run");
        var run = runs["action_run_list"]![0]!;
        Assert.Equal("succeeded", (string?)run["status"]);

        // Resolved for the request only: the receiver got the value and a signature made with the sealed signing secret.
        var delivery = Assert.Single(receiver.Deliveries);
        Assert.Equal("Bearer " + token, delivery.Headers!["Authorization"]);
        Assert.True(delivery.SignatureValid);
        // The receiver echoed the header back: the recorded output has it redacted.
        Assert.Equal("Bearer ********", (string?)run["output"]!["response"]!["Authorization"]);

        await pipeline.WaitForDefinitionsAsync();
        if (mode == PipelineMode.Embedded)
        {
            var dir = pipeline.DataDirectory!;
            foreach (var file in Directory.GetFiles(dir, "actionflow.db*"))
            {
                Assert.False(TestSecrets.FileContains(file, token), $"{Path.GetFileName(file)} holds the secret in clear");
                Assert.False(TestSecrets.FileContains(file, signing), $"{Path.GetFileName(file)} holds the webhook's signing secret in clear");
            }

            // No key configured: the embedded default generated one beside the database, readable by its owner only.
            var keyFile = Path.Combine(dir, SecretKeySettings.KeyFileName);
            Assert.True(File.Exists(keyFile));
            Assert.True(OperatingSystem.IsLinux());
            if (OperatingSystem.IsLinux())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            }

            Assert.Contains("generated a secrets key at", host.Output, StringComparison.Ordinal);
        }
        else
        {
            var dump = await TestSecrets.PgDumpAsync(pipeline.Database);
            Assert.Contains(SecretCipher.Prefix, dump, StringComparison.Ordinal);
            Assert.DoesNotContain(token, dump, StringComparison.Ordinal);
            Assert.DoesNotContain(signing, dump, StringComparison.Ordinal);
        }

        Assert.Contains("dbug", host.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(token, host.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(signing, host.Output, StringComparison.Ordinal);
        Assert.All(api.Transcript, body => Assert.DoesNotContain(token, body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SecretReference_PluginLogsItsResolvedConfig_DebugLogAndOutputShowTheMask()
    {
        const string value = "greet-log-check-9b31f0";
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.Embedded);
        var host = await pipeline.StartWorkerAsync(new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Debug" });
        using var project = await TestProject.CreateAsync(host);
        var api = project.Editor;
        ApiAssert.Ok(await api.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "GREETING", ["value"] = value }), HttpStatusCode.Created);
        var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "careless plugin" })).Json["workflow"]!["id"]!;
        var step = await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "greet",
            ["config_data"] = new JsonObject { ["greeting"] = "Hi {{ secrets.GREETING }}" },
        });
        ApiAssert.Ok(step);
        var stepId = (long)step.Json["action"]!["id"]!;
        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));
        ApiAssert.Ok(await api.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 5 }), HttpStatusCode.Accepted);

        var runs = await ApiAssert.EventuallyAsync(
            async () => (await api.GetAsync(project.P($"action/{stepId}/runs/list"))).Body as JsonObject,
            r => r["action_run_list"]?.AsArray().Any(x => (string?)x!["status"] is "succeeded" or "failed") == true, Patience, "the greet run");

        var run = runs["action_run_list"]![0]!;
        Assert.Equal("succeeded", (string?)run["status"]);
        Assert.Equal($"Hi {SecretRedactor.Mask}, file 5", (string?)run["output"]!["message"]);
        // The plugin logged its resolved greeting at Debug: the line is there, masked.
        Assert.Contains($"Greeting with Hi {SecretRedactor.Mask}", host.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(value, host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretsKeyRotation_PreviousKeyGiven_ClearFieldsSealedAndEverythingResealed_WrongKeyStopsTheStart()
    {
        const string token = "tok-rotation-0b9e";
        const string legacy = "legacy-clear-signing-7aa1";
        var newKey = SecretKey.NewBase64();
        await using var receiver = await WebhookReceiver.StartAsync(legacy);
        await using var pipeline = await Pipeline.CreateAsync(PipelineMode.RabbitMqPostgres);
        var first = await pipeline.StartWorkerAsync();
        using var project = await TestProject.CreateAsync(first);
        var api = project.Editor;
        ApiAssert.Ok(await api.PostAsync(project.P("secrets"), new JsonObject { ["name"] = "TOKEN", ["value"] = token }), HttpStatusCode.Created);
        var workflowId = (long)(await api.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "rotation" })).Json["workflow"]!["id"]!;
        var stepId = (long)(await api.PostAsync(project.P($"actions/workflow/{workflowId}/action"), new JsonObject
        {
            ["kind"] = "Webhook",
            ["config_data"] = new JsonObject { ["url"] = receiver.Url("rotated"), ["headers"] = new JsonObject { ["X-Token"] = "{{ secrets.TOKEN }}" } },
        })).Json["action"]!["id"]!;
        ApiAssert.Ok(await api.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflowId, ["active"] = true }));

        // A signing secret stored in clear, as every version before secrets were encrypted stored it.
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            var action = await db.Actions.SingleAsync(a => a.Id == stepId);
            var config = (JsonObject)action.ConfigData.DeepClone();
            config["secret"] = legacy;
            action.ConfigData = config;
            await db.SaveChangesAsync();
        }

        Assert.Equal(0, await first.TerminateAsync(TimeSpan.FromSeconds(30)));

        var oldRing = TestSecrets.Ring();
        var newRing = TestSecrets.Ring(newKey);
        var second = await pipeline.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Actionflow__SecretsKey"] = newKey,
            ["Actionflow__SecretsPreviousKeys"] = Pipeline.SecretsKey,
        });
        Assert.Contains("1 config fields stored in clear were sealed, 2 values re-sealed under key " + newRing.Current.Id, second.Output, StringComparison.Ordinal);
        await using (var db = await pipeline.Contexts.CreateDbContextAsync())
        {
            var secret = await db.Secrets.AsNoTracking().SingleAsync(s => s.ProjectId == project.Id);
            Assert.Equal(newRing.Current.Id, secret.KeyId);
            Assert.NotEqual(oldRing.Current.Id, secret.KeyId);
            var config = (await db.Actions.AsNoTracking().SingleAsync(a => a.Id == stepId)).ConfigData;
            Assert.Equal(newRing.Current.Id, SecretCipher.KeyIdOf((string)config["secret"]!));
            Assert.Equal(newRing.Current.Id, SecretCipher.KeyIdOf((string)config["headers"]!["X-Token"]!));
            Assert.Equal(legacy, SecretCipher.Open(newRing, (string)config["secret"]!, SecretCipher.ConfigScope(project.Id)));
        }

        Assert.Equal(0, await second.TerminateAsync(TimeSpan.FromSeconds(30)));

        // The old key is gone from the settings: everything opens with the new one alone.
        var third = await pipeline.StartWorkerAsync(new Dictionary<string, string> { ["Actionflow__SecretsKey"] = newKey });
        using (var editor = ApiClient.Basic(third, project.Keys["editor"].ClientId, project.Keys["editor"].Secret))
        {
            ApiAssert.Ok(await editor.PostAsync(project.P("events"), new JsonObject { ["kind"] = "input_file_uploaded", ["file_id"] = 1 }), HttpStatusCode.Accepted);
            await ApiAssert.EventuallyAsync(
                async () => (await editor.GetAsync(project.P($"action/{stepId}/runs/list"))).Body as JsonObject,
                r => r["action_run_list"]?.AsArray().Any(x => (string?)x!["status"] == "succeeded") == true, Patience, "the webhook run under the new key");
        }

        var delivery = Assert.Single(receiver.Deliveries);
        Assert.Equal(token, delivery.Headers!["X-Token"]);
        Assert.True(delivery.SignatureValid);
        Assert.Equal(0, await third.TerminateAsync(TimeSpan.FromSeconds(30)));

        // A key that opens nothing here, or none at all, stops the start with the reason.
        foreach (var key in (string[])[SecretKey.NewBase64(), ""])
        {
            var env = pipeline.Environment(new Dictionary<string, string> { ["Actionflow__SecretsKey"] = key });
            await using var refused = await ActionflowProcess.StartAsync(env, waitUntilReady: false);
            Assert.NotEqual(0, await refused.WaitForExitAsync(TimeSpan.FromSeconds(90)));
            Assert.Contains("Actionflow__SecretsKey", refused.Output, StringComparison.Ordinal);
        }
    }
}
