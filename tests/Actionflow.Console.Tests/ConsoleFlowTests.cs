using System.Globalization;
using System.Net;
using Actionflow.Console.Tests.Infrastructure;
using Actionflow.Client;
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

    [Fact]
    public async Task Builder_EditFlowFields_FieldErrorsThenEdgeDrawn()
    {
        var (project, key) = await fixture.ProjectWithKeyAsync("editor");
        var admin = fixture.Host.AdminClient();
        var workflow = await admin.CreateWorkflowAsync(project, "Edit the flow");
        var first = await admin.AddStepAsync(project, workflow.Id, "noop", "task_completed");
        var second = await admin.AddStepAsync(project, workflow.Id, "noop", "action_completed");
        await ChangeAsync(admin, project, first.Id, new { public_name = "Classify" });
        await ChangeAsync(admin, project, second.Id, new { public_name = "Positive" });

        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Edit the flow" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Edit step Positive" }).ClickAsync();

        // An invalid condition and limit: the API's field errors show at the fields, nothing is saved.
        await page.GetByRole(AriaRole.Group, new() { Name = "Depends on" }).GetByLabel("Classify").CheckAsync();
        await page.GetByLabel("Condition", new() { Exact = true }).FillAsync("previous.score >");
        await page.GetByLabel("Concurrency key").FillAsync("event.file_id");
        await page.GetByLabel("Concurrency limit").FillAsync("0");
        await Button(page, "Save step").ClickAsync();
        await Expect(FieldOf(page, page.GetByLabel("Condition", new() { Exact = true }))).ToContainTextAsync("line 1, column");
        await Expect(FieldOf(page, page.GetByLabel("Concurrency limit"))).ToContainTextAsync("at least 1");
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await tab.ScreenshotAsync("builder-flow-errors");
        Assert.Null((await admin.GetWorkflowAsync(project, workflow.Id)).ActionsList!.Single(s => s.Id == second.Id).Condition);

        await page.GetByLabel("Condition", new() { Exact = true }).FillAsync("previous.noop == true");
        await page.GetByLabel("Concurrency limit").FillAsync("1");
        await Button(page, "Save step").ClickAsync();
        await Expect(page.GetByText("Step saved.")).ToBeVisibleAsync();
        var graph = page.GetByRole(AriaRole.Group, new() { Name = "Workflow graph" });
        await Expect(graph.Locator("text title", new() { HasText = "if previous.noop == true" })).ToHaveCountAsync(1);
        var saved = (await admin.GetWorkflowAsync(project, workflow.Id)).ActionsList!.Single(s => s.Id == second.Id);
        Assert.Equal([first.Id], saved.DependsOn);
        Assert.Equal("previous.noop == true", saved.Condition);
        Assert.Equal(new StepConcurrency("event.file_id", 1), saved.Concurrency);
        await tab.WithoutMessagesAsync();
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await tab.ScreenshotAsync("builder-flow-saved");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task RunPage_RerunFromAStep_NewAttemptShown()
    {
        var (project, key) = await fixture.ProjectWithKeyAsync("editor");
        var admin = fixture.Host.AdminClient();
        var workflow = await admin.CreateWorkflowAsync(project, "Rerun me");
        var start = await admin.AddStepAsync(project, workflow.Id, "noop", "task_completed");
        var next = await admin.AddStepAsync(project, workflow.Id, "noop", "action_completed");
        await ChangeAsync(admin, project, start.Id, new { public_name = "Start" });
        await ChangeAsync(admin, project, next.Id, new { public_name = "Next" });
        await admin.UpdateWorkflowAsync(project, workflow.Id, active: true);
        await admin.EmitEventAsync(project, new NewEvent("task_completed", TaskId: 3));
        var runId = await EndedRunAsync(admin, project, workflow.Id, 2);

        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key);
        await page.GotoAsync($"runs/{runId.ToString(CultureInfo.InvariantCulture)}");
        await Expect(page.GetByTestId("run-status")).ToContainTextAsync("succeeded");
        await page.GetByRole(AriaRole.Button, new() { Name = "Rerun from Next" }).ClickAsync();
        await page.GetByLabel("Rerun input (JSON, optional)").FillAsync("{\"score\": 0.95}");
        await Button(page, "Start rerun").ClickAsync();
        await Expect(page.GetByText("Rerun started from Next.")).ToBeVisibleAsync();

        // The new attempt of Next shows beside the first; Start did not run again.
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Step Next" })).ToHaveCountAsync(2);
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Step Start" })).ToHaveCountAsync(1);
        var run = await admin.GetRunAsync(project, runId);
        var reran = run.ActionRuns.Where(r => r.ActionId == next.Id).OrderBy(r => r.Id).Last();
        Assert.Equal(2, reran.WorkflowAttempt);
        await Expect(page.GetByText("run attempt 2").First).ToBeVisibleAsync();
        await tab.WithoutMessagesAsync();
        await tab.ScreenshotAsync("run-rerun");
        tab.AssertNoErrors();
    }

    private static async Task<long> EndedRunAsync(Actionflow.Client.ActionflowClient admin, string project, long workflowId, int steps)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var runs = await admin.SearchRunsAsync(project, new RunQuery(WorkflowId: workflowId));
            if (runs.WorkflowRunList is [{ Status: "succeeded" } run, ..] && run.ActionRuns.Count == steps)
            {
                return run.Id;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("the workflow run did not succeed");
    }

    private static async Task SignInAsync(IPage page, ApiKeyCreated key)
    {
        await page.GotoAsync("signin");
        await page.GetByLabel("Client ID").FillAsync(key.ClientId);
        await page.GetByLabel("Client secret").FillAsync(key.ClientSecret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows" })).ToBeVisibleAsync();
    }

    private static ILocator FieldOf(IPage page, ILocator input) => page.Locator(".mud-input-control", new() { Has = input });

    private static ILocator Button(IPage page, string name) => page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });

    private static async Task ChangeAsync(Actionflow.Client.ActionflowClient admin, string project, long stepId, object changes)
    {
        var status = await admin.SendRawAsync(HttpMethod.Put, $"api/v1/project/{project}/actions/{stepId.ToString(CultureInfo.InvariantCulture)}", changes);
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
