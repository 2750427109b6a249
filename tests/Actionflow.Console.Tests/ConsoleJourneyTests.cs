using System.Text.RegularExpressions;
using Actionflow.Console.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Actionflow.Console.Tests;

/// <summary>
/// The issue's journey, as a new user does it on a fresh embedded install: sign in with the setup token, make a
/// project and its key, build a Webhook workflow, activate it, emit an event from the browser, watch the run
/// succeed live, make the receiver fail, see why, replay the dead letter.
/// </summary>
public sealed class ConsoleJourneyTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private ConsoleHost _host = null!;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        SetDefaultExpectTimeout(20_000);
        _host = await ConsoleHost.StartAsync();
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Journey_SetupTokenToReplayedDeadLetter_EachStepSeenInTheBrowser()
    {
        await using var receiver = await Receiver.StartAsync();
        await using var tab = await _browser.NewPageAsync(_host.BaseAddress);
        var page = tab.Page;

        // The log names the console's address; opening it leads to sign-in, which says where the setup token is.
        Assert.Equal(_host.BaseAddress.ToString(), _host.LoggedConsoleUrl);
        await page.GotoAsync("/");
        await Expect(Heading(page, "Sign in")).ToBeVisibleAsync();
        await Expect(page.GetByText("setup token", new() { Exact = false }).First).ToBeVisibleAsync();
        await tab.ScreenshotAsync("sign-in");
        await page.GetByLabel("Client secret").FillAsync(_host.SetupToken);
        await Button(page, "Sign in").ClickAsync();

        await Expect(Heading(page, "Welcome")).ToBeVisibleAsync();
        await page.GetByLabel("Project ID").FillAsync("journey");
        await page.GetByLabel("Project name").FillAsync("Journey");
        await Button(page, "Create project").ClickAsync();
        await Expect(Heading(page, "Workflows")).ToBeVisibleAsync();

        // A project key, shown once; then sign in with it as the person would from now on.
        await page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        await Expect(Heading(page, "API keys")).ToBeVisibleAsync();
        await page.GetByLabel("Role").SelectOptionAsync("admin");
        await Button(page, "Create API key").ClickAsync();
        await Expect(page.GetByText("it is shown this once", new() { Exact = false })).ToBeVisibleAsync();
        var clientId = (await page.GetByTestId("new-client-id").TextContentAsync())!.Trim();
        var secret = (await page.GetByTestId("new-client-secret").TextContentAsync())!.Trim();
        Assert.StartsWith("af_", clientId);
        Assert.StartsWith("afsk_", secret);
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = clientId, Exact = true })).ToBeVisibleAsync();
        await tab.ScreenshotAsync("api-keys");
        await Button(page, "Sign out").ClickAsync();
        await Expect(Heading(page, "Sign in")).ToBeVisibleAsync();
        await page.GetByLabel("Client ID").FillAsync(clientId);
        await page.GetByLabel("Client secret").FillAsync(secret);
        await Button(page, "Sign in").ClickAsync();
        await Expect(Heading(page, "Workflows")).ToBeVisibleAsync();

        // Build: a workflow with a Webhook step pointing at the receiver, configured through the generated form.
        await page.GetByLabel("New workflow name").FillAsync("Notify labelers");
        await Button(page, "Create workflow").ClickAsync();
        await Expect(Heading(page, "Notify labelers")).ToBeVisibleAsync();
        await Button(page, "Add Webhook step").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Step Webhook", Exact = true })).ToBeVisibleAsync();
        // No completion event chosen: the select names the one the step emits all the same, the template's default.
        await Expect(page.GetByLabel("Completion event").Locator("option").First).ToHaveTextAsync("(default: action_completed)");
        await page.GetByLabel("URL *").FillAsync(receiver.Url("hook"));
        await page.GetByLabel("Secret").FillAsync("journey-signing-secret");
        await Button(page, "Save step").ClickAsync();
        await Expect(page.GetByText("Step saved.")).ToBeVisibleAsync();
        // The secret is write-only: never shown again, only that one is set.
        await Expect(page.GetByLabel("Secret")).ToHaveValueAsync("");
        await Expect(page.GetByText("A value is set and never shown", new() { Exact = false })).ToBeVisibleAsync();
        await Button(page, "Activate").ClickAsync();
        await Expect(page.GetByText("Workflow activated.")).ToBeVisibleAsync();
        await Expect(Button(page, "Deactivate")).ToBeVisibleAsync();
        await tab.WithoutMessagesAsync();
        await tab.ScreenshotAsync("builder");

        // Emit an event from the console while the receiver holds the request: the run is seen running, then
        // succeeded with its output, on the same page (no reload).
        receiver.Hold();
        var runUrl = await EmitAndOpenRunAsync(tab, fileId: "42", screenshot: true);
        await receiver.Held.Task.WaitAsync(Patience);
        await Expect(page.GetByTestId("run-status")).ToContainTextAsync("running");
        await page.EvaluateAsync("() => window.afNotReloaded = true");
        receiver.Release();
        await Expect(page.GetByTestId("run-status")).ToContainTextAsync("succeeded", new() { Timeout = (float)Patience.TotalMilliseconds });
        await Expect(page.GetByLabel("Output of Webhook")).ToContainTextAsync("\"status_code\": 200");
        Assert.True(await page.EvaluateAsync<bool>("() => window.afNotReloaded === true"), "the run page was reloaded");
        Assert.Equal(runUrl, page.Url);
        await tab.WithoutMessagesAsync();
        await tab.ScreenshotAsync("run-succeeded");

        // The receiver fails: the run ends failed with the reason, and its trigger becomes a dead letter.
        receiver.Fail = true;
        await EmitAndOpenRunAsync(tab, fileId: "43");
        await Expect(page.GetByTestId("run-status")).ToContainTextAsync("failed", new() { Timeout = (float)Patience.TotalMilliseconds });
        await Expect(page.GetByText(new Regex(@"Reason: failed after 3 attempts: HTTP 500"))).ToBeVisibleAsync();
        var failedRun = page.Url;
        await tab.ScreenshotAsync("run-failed");

        await page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" }).ClickAsync();
        await Expect(Heading(page, "Dead letters")).ToBeVisibleAsync();
        await Expect(page.GetByText("HTTP 500", new() { Exact = false }).First).ToBeVisibleAsync();
        await tab.ScreenshotAsync("dead-letters");
        receiver.Fail = false;
        await page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Replay dead letter") }).First.ClickAsync();
        await Expect(page.GetByText("replayed onto", new() { Exact = false })).ToBeVisibleAsync();
        await Expect(page.GetByText("No dead letters.")).ToBeVisibleAsync();

        await page.GotoAsync(failedRun);
        await Expect(page.GetByTestId("run-status")).ToContainTextAsync("succeeded", new() { Timeout = (float)Patience.TotalMilliseconds });

        await page.GetByRole(AriaRole.Link, new() { Name = "Runs" }).ClickAsync();
        await Expect(Heading(page, "Runs")).ToBeVisibleAsync();
        await Expect(page.GetByText("2 runs match")).ToBeVisibleAsync();
        await tab.ScreenshotAsync("runs");
        await page.GetByRole(AriaRole.Link, new() { Name = "Workflows" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Notify labelers" })).ToBeVisibleAsync();
        await tab.ScreenshotAsync("workflows");
        tab.AssertNoErrors();
    }

    /// <summary>Emits an input_file_uploaded event from the Events page and follows its run; returns the run page's address.</summary>
    private static async Task<string> EmitAndOpenRunAsync(Infrastructure.ConsolePage tab, string fileId, bool screenshot = false)
    {
        var page = tab.Page;
        await page.GetByRole(AriaRole.Link, new() { Name = "Events" }).ClickAsync();
        await Expect(Heading(page, "Events")).ToBeVisibleAsync();
        await page.GetByLabel("Event kind").SelectOptionAsync("input_file_uploaded");
        await page.GetByLabel("File ID").FillAsync(fileId);
        await page.GetByLabel("Extra metadata (JSON object)").FillAsync("{\"source\": \"console test\"}");
        await Button(page, "Emit event").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "started 1 step" })).ToBeVisibleAsync();
        if (screenshot)
        {
            await tab.ScreenshotAsync("events");
        }

        await page.GetByRole(AriaRole.Link, new() { Name = "See its runs" }).ClickAsync();
        await Expect(page.GetByText("1 run matches")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { NameRegex = new Regex(@"^#\d+$") }).First.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { NameRegex = new Regex(@"^Run #\d+$") })).ToBeVisibleAsync();
        await Expect(page.GetByText("Live", new() { Exact = true })).ToBeVisibleAsync();
        return page.Url;
    }

    private static ILocator Heading(IPage page, string name) => page.GetByRole(AriaRole.Heading, new() { Name = name, Exact = true });

    private static ILocator Button(IPage page, string name) => page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });
}
