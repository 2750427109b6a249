using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Actionflow.Client;
using Actionflow.Console.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Actionflow.Console.Tests;

/// <summary>Time in the builder: a cron trigger with its next fire times, zone and catch-up; a delay; a window; a waiting run.</summary>
public sealed class ConsoleTimeTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    [Fact]
    public async Task Builder_TimeTrigger_ShowsTheNextFiveFireTimesInItsZone_ErrorsAtTheField_AndTheNextFireOnceActive()
    {
        var (_, key) = await fixture.ProjectWithKeyAsync("editor");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key);
        await page.GetByLabel("New workflow name").FillAsync("Weekday report");
        await Button(page, "Create workflow").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Weekday report" })).ToBeVisibleAsync();
        await Button(page, "Add Webhook step").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Step Webhook", Exact = true })).ToBeVisibleAsync();

        await page.GetByLabel("Trigger event").SelectOptionAsync("time_trigger");
        var cron = page.GetByLabel("Cron expression");
        await Expect(cron).ToBeVisibleAsync();

        // The API's own message, at the field, as it is typed.
        await cron.FillAsync("61 * * * *");
        await Expect(cron).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(FieldOf(page, cron)).ToContainTextAsync("is not a valid cron expression");

        await cron.FillAsync("0 9 * * 1-5");
        await page.GetByLabel("Time zone").SelectOptionAsync("America/New_York");
        var times = page.GetByRole(AriaRole.List, new() { Name = "Next fire times" }).GetByRole(AriaRole.Listitem);
        await Expect(times).ToHaveCountAsync(5);
        foreach (var item in await times.AllAsync())
        {
            await Expect(item).ToContainTextAsync(new Regex(@" 09:00:00-0[45]:00 \(\d{4}-\d\d-\d\d 1[34]:00:00 UTC\)"));
        }

        await Expect(cron).ToHaveAttributeAsync("aria-invalid", "false");
        await page.GetByLabel("Catch-up after downtime").SelectOptionAsync("all");
        await page.GetByLabel("Most missed ticks fired").FillAsync("3");
        await page.GetByLabel("URL *").FillAsync("http://127.0.0.1:9/report");
        await Button(page, "Save step").ClickAsync();
        await Expect(page.GetByText("Step saved.")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Edit step Webhook" })).ToContainTextAsync("on time_trigger (0 9 * * 1-5)");

        await Button(page, "Activate").ClickAsync();
        await Expect(page.GetByText("Workflow activated.")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("next-fire")).ToContainTextAsync(new Regex(@"Next fire \d{4}-\d\d-\d\d 1[34]:00:00 UTC · catch-up all"));
        await Expect(page.GetByTestId("schedule-state")).ToContainTextAsync("not fired yet");
        await tab.WithoutMessagesAsync();
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await tab.ScreenshotAsync("builder-schedule");

        // As saved, after a reload.
        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Edit step Webhook" }).ClickAsync();
        await Expect(page.GetByLabel("Cron expression")).ToHaveValueAsync("0 9 * * 1-5");
        await Expect(page.GetByLabel("Time zone")).ToHaveValueAsync("America/New_York");
        await Expect(page.GetByLabel("Most missed ticks fired")).ToHaveValueAsync("3");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Builder_WindowAndDelay_SetThroughTheirFormsWithErrorsAtTheirFields_AndAWaitingRunShowsWhenItGoesOn()
    {
        var (project, key) = await fixture.ProjectWithKeyAsync("editor");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key);
        await page.GetByLabel("New workflow name").FillAsync("Batched uploads");
        await Button(page, "Create workflow").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Batched uploads" })).ToBeVisibleAsync();

        await Button(page, "Add No-op step").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Step No-op", Exact = true })).ToBeVisibleAsync();
        await page.GetByLabel("Window", new() { Exact = true }).SelectOptionAsync("batch");
        await page.GetByLabel("Window key").FillAsync("directory_id");
        var maxEvents = page.GetByLabel("Max events");
        await maxEvents.FillAsync("0");
        await Button(page, "Save step").ClickAsync();
        await Expect(maxEvents).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(FieldOf(page, maxEvents)).ToContainTextAsync("must be an integer from 1 to");
        await maxEvents.FillAsync("100");
        await page.GetByLabel("Max wait").FillAsync("5_minutes");
        await Button(page, "Save step").ClickAsync();
        await Expect(page.GetByText("Step saved.")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Edit step No-op" })).ToContainTextAsync("(batch window)");

        await Button(page, "Add Delay step").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Step Delay", Exact = true })).ToBeVisibleAsync();
        var duration = page.GetByLabel("Duration");
        await duration.FillAsync("soon");
        await Button(page, "Save step").ClickAsync();
        await Expect(duration).ToHaveAttributeAsync("aria-invalid", "true");
        await duration.FillAsync("5m");
        await Button(page, "Save step").ClickAsync();
        await Expect(page.GetByText("Step saved.")).ToBeVisibleAsync();
        await tab.WithoutMessagesAsync();
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await tab.ScreenshotAsync("builder-window-delay");

        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Edit step No-op" }).ClickAsync();
        await Expect(page.GetByLabel("Window", new() { Exact = true })).ToHaveValueAsync("batch");
        await Expect(page.GetByLabel("Max events")).ToHaveValueAsync("100");
        await Expect(page.GetByLabel("Max wait")).ToHaveValueAsync("5_minutes");
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await tab.ScreenshotAsync("builder-window");

        // A run waiting in a delay: the run page says until when.
        var admin = fixture.Host.AdminClient();
        var waits = await admin.CreateWorkflowAsync(project, "Waits an hour");
        var delay = await admin.AddStepAsync(project, waits.Id, "delay", "input_file_uploaded");
        await admin.UpdateStepAsync(project, delay.Id, new StepChanges(ConfigData: new JsonObject { ["duration"] = "1h" }));
        await admin.UpdateWorkflowAsync(project, waits.Id, active: true);
        await admin.EmitEventAsync(project, new NewEvent("input_file_uploaded", FileId: 9));
        var run = (await Poll.UntilAsync(
            () => admin.SearchRunsAsync(project, new RunQuery(WorkflowId: waits.Id)),
            runs => runs.WorkflowRunList is [{ ActionRuns: [{ Status: "waiting" }] }, ..],
            "the delay starting to wait")).WorkflowRunList[0].Id;
        await page.GotoAsync($"runs/{run}");
        await Expect(page.GetByTestId("run-status")).ToContainTextAsync("running");
        var step = page.GetByRole(AriaRole.Region, new() { Name = "Step Delay" });
        await Expect(step).ToContainTextAsync("waiting");
        await Expect(step).ToContainTextAsync("waits until");
        await Expect(step).ToContainTextAsync("finished —");
        await tab.ScreenshotAsync("run-waiting");
        tab.AssertNoErrors();
    }

    private static async Task SignInAsync(IPage page, ApiKeyCreated key)
    {
        await page.GotoAsync("signin");
        await page.GetByLabel("Client ID").FillAsync(key.ClientId);
        await page.GetByLabel("Client secret").FillAsync(key.ClientSecret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows" })).ToBeVisibleAsync();
    }

    /// <summary>The form control around a labelled input, where its message sits.</summary>
    private static ILocator FieldOf(IPage page, ILocator input) => page.Locator(".mud-input-control", new() { Has = input });

    private static ILocator Button(IPage page, string name) => page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });
}
