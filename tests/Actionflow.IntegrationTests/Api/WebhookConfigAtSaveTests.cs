using System.Net;
using System.Text.Json.Nodes;
using Actionflow.IntegrationTests.Infrastructure;

namespace Actionflow.IntegrationTests.Api;

/// <summary>Issue 16, finding 5: a Webhook config that can never work is refused when it is saved or activated.</summary>
public sealed class WebhookConfigAtSaveTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    [Fact]
    public async Task Activate_StepSavedEarlierWithAHeaderThatCanNeverBeSent_400NamingStepAndHeader()
    {
        using var project = await TestProject.CreateAsync(fixture.Host);
        var workflow = await fixture.Pipeline.CreateWorkflowAsync(project.Id, "stored-bad-header", active: false,
            ("Webhook", "input_file_uploaded", new JsonObject { ["url"] = "https://example.com/hook", ["headers"] = new JsonObject { ["Host"] = "internal" } }, null));
        var stepId = (await fixture.Pipeline.StepsAsync(workflow.Id))[0].Id;

        var response = await project.Editor.PutAsync(project.P("actions/workflow/update"), new JsonObject { ["workflow_id"] = workflow.Id, ["active"] = true });

        ApiAssert.Problem(response, HttpStatusCode.BadRequest, $"actions.{stepId}.config_data.headers.Host");
    }

    [Theory]
    [InlineData("http://10.0.0.1/hook", true)]
    [InlineData("http://[::1]:8080/hook", true)]
    [InlineData("http://[::ffff:0:7f00:1]/hook", true)]
    [InlineData("http://192.0.2.2/hook", true)]
    [InlineData("http://169.254.169.254/latest/meta-data", true)]
    [InlineData("http://localhost:8080/hook", true)]
    [InlineData("http://api.localhost/hook", true)]
    [InlineData("https://example.com/hook", false)]
    [InlineData("https://93.184.215.14/hook", false)]
    public async Task WebhookUrl_SpecialAddressLiteral_400AtSaveUnlessPrivateNetworksAllowed(string url, bool refused)
    {
        var guarded = await fixture.SharedAsync("guarded-host", async () =>
        {
            var pipeline = await Pipeline.CreateAsync(PipelineMode.Embedded);
            var host = await pipeline.StartWorkerAsync(new Dictionary<string, string> { ["Actionflow__Webhooks__AllowPrivateNetworks"] = "false" });
            return new GuardedHost(pipeline, host, await TestProject.CreateAsync(host));
        });
        var project = guarded.Project;
        var workflowId = (long)(await project.Editor.PostAsync(project.P("actions/workflow/new"), new JsonObject { ["name"] = "ssrf" })).Json["workflow"]!["id"]!;
        var body = new JsonObject { ["kind"] = "Webhook", ["config_data"] = new JsonObject { ["url"] = url } };

        var created = await project.Editor.PostAsync(project.P($"actions/workflow/{workflowId}/action"), body);
        // The same URL through the API host that allows private networks is saved.
        using var other = await TestProject.CreateAsync(fixture.Host);
        var otherWorkflow = (long)(await other.Editor.PostAsync(other.P("actions/workflow/new"), new JsonObject { ["name"] = "ssrf" })).Json["workflow"]!["id"]!;
        var allowed = await other.Editor.PostAsync(other.P($"actions/workflow/{otherWorkflow}/action"), body.DeepClone());

        if (refused)
        {
            ApiAssert.Problem(created, HttpStatusCode.BadRequest, "config_data.url");
        }
        else
        {
            ApiAssert.Ok(created);
        }

        ApiAssert.Ok(allowed);
    }

    private sealed record GuardedHost(Pipeline Pipeline, ActionflowProcess Host, TestProject Project) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Project.Dispose();
            await Pipeline.DisposeAsync();
        }
    }
}
