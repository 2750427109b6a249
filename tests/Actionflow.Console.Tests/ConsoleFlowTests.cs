using System.Globalization;
using System.Net;
using Actionflow.Console.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Actionflow.Console.Tests;

/// <summary>Flow control in the builder: branches, an else and a join drawn from the workflow's graph.</summary>
public sealed class ConsoleFlowTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    [Fact]
    public async Task Builder_BranchesElseAndJoin_DrawnAsTheApiLinksThem()
    {
        var (project, key) = await fixture.ProjectWithKeyAsync("editor");
        var admin = fixture.Host.AdminClient();
        var workflow = await admin.CreateWorkflowAsync(project, "Route by score");
        var score = await admin.AddStepAsync(project, workflow.Id, "noop", "task_completed");
        var high = await admin.AddStepAsync(project, workflow.Id, "noop", "action_completed");
        var low = await admin.AddStepAsync(project, workflow.Id, "noop", "action_completed");
        var merge = await admin.AddStepAsync(project, workflow.Id, "noop", "action_completed");
        await ChangeAsync(admin, project, high.Id, new { public_name = "High", depends_on = new[] { score.Id }, condition = "event.extra_metadata.score > 0.8" });
        await ChangeAsync(admin, project, low.Id, new { public_name = "Low", depends_on = new[] { score.Id }, else_branch = true });
        await ChangeAsync(admin, project, merge.Id, new { public_name = "Merge", depends_on = new[] { high.Id, low.Id }, join = "any" });

        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await page.GotoAsync("signin");
        await page.GetByLabel("Client ID").FillAsync(key.ClientId);
        await page.GetByLabel("Client secret").FillAsync(key.ClientSecret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Route by score" }).ClickAsync();

        var graph = page.GetByRole(AriaRole.Group, new() { Name = "Workflow graph" });
        await Expect(graph.GetByRole(AriaRole.Button, new() { Name = "Step Merge", Exact = true })).ToBeVisibleAsync();
        // The event starts the first step; the first step fans out to both branches; both lead into the join.
        await Expect(graph.Locator("path[marker-end]")).ToHaveCountAsync(5);
        await Expect(graph.Locator("text title", new() { HasText = "if event.extra_metadata.score > 0.8" })).ToHaveCountAsync(1);
        await Expect(graph.Locator("text", new() { HasText = "else" }).Filter(new() { HasNotText = "score" })).ToHaveCountAsync(1);
        await Expect(graph.Locator("text", new() { HasText = "then" })).ToHaveCountAsync(2);
        await tab.ScreenshotAsync("builder-branches");
        tab.AssertNoErrors();
    }

    private static async Task ChangeAsync(Actionflow.Client.ActionflowClient admin, string project, long stepId, object changes)
    {
        var status = await admin.SendRawAsync(HttpMethod.Put, $"api/v1/project/{project}/actions/{stepId.ToString(CultureInfo.InvariantCulture)}", changes);
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
