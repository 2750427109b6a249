using System.Text.RegularExpressions;
using Actionflow.Client;
using Actionflow.Console.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Actionflow.Console.Tests;

/// <summary>Validation errors at their fields, what a viewer sees and may do, revoked keys, phone width.</summary>
public sealed class ConsoleAccessTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    [Fact]
    public async Task CreateAndActivate_InvalidInput_ErrorsShownAtTheirFields()
    {
        var (_, key) = await fixture.ProjectWithKeyAsync("editor");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key);

        // A blank name: the API's "name" error appears under the name field.
        await Button(page, "Create workflow").ClickAsync();
        var name = page.GetByLabel("New workflow name");
        await Expect(name).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(FieldOf(page, name)).ToContainTextAsync("is required");

        // A Webhook step without its URL cannot be activated: the error lands on the step's URL field.
        await name.FillAsync("Needs a URL");
        await Button(page, "Create workflow").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Needs a URL" })).ToBeVisibleAsync();
        await Button(page, "Add Webhook step").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Step Webhook", Exact = true })).ToBeVisibleAsync();
        await Button(page, "Activate").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Main).GetByRole(AriaRole.Alert).Filter(new() { HasText = "cannot be activated yet" })).ToBeVisibleAsync();
        var url = page.GetByLabel("URL *");
        await Expect(url).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(FieldOf(page, url)).ToContainTextAsync("is required while the workflow is active");
        await tab.ScreenshotAsync("builder-validation");

        // Fixed and saved, the workflow activates and the messages go.
        await url.FillAsync("http://127.0.0.1:9/hook");
        await Button(page, "Save step").ClickAsync();
        await Expect(page.GetByText("Step saved.")).ToBeVisibleAsync();
        await Button(page, "Activate").ClickAsync();
        await Expect(Button(page, "Deactivate")).ToBeVisibleAsync();
        await Expect(url).ToHaveAttributeAsync("aria-invalid", "false");
        await Expect(page.GetByRole(AriaRole.Main).GetByRole(AriaRole.Alert).Filter(new() { HasText = "cannot be activated yet" })).ToHaveCountAsync(0);
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task ViewerKey_EditControlsHidden_ForcedRequestsAnswered403Messages()
    {
        var (project, viewer) = await fixture.ProjectWithKeyAsync("viewer");
        var admin = fixture.Host.AdminClient();
        var workflow = await admin.CreateWorkflowAsync(project, "Read only");
        await admin.AddStepAsync(project, workflow.Id, "noop", "task_completed");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, viewer);

        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Read only" })).ToBeVisibleAsync();
        await Expect(Button(page, "Create workflow")).ToHaveCountAsync(0);
        await Expect(Button(page, "Activate")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "API keys" })).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Link, new() { Name = "Read only" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Read only" })).ToBeVisibleAsync();
        await Expect(page.GetByText("Your role can view this workflow, not change it.")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Add .* step$") })).ToHaveCountAsync(0);
        await Expect(Button(page, "Activate")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^Archive") })).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Link, new() { Name = "Events" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Events" })).ToBeVisibleAsync();
        await Expect(Button(page, "Emit event")).ToHaveCountAsync(0);

        // Forced: the keys page by its address. The API answers 403 and the page says so.
        await page.GotoAsync("api-keys");
        await Expect(page.GetByRole(AriaRole.Main).GetByRole(AriaRole.Alert).Filter(new() { HasText = "Not allowed" })).ToContainTextAsync("this needs admin");
        await tab.ScreenshotAsync("viewer-forbidden");

        // The same request as the console sends it, with the viewer's credentials: 403 from the API.
        var asViewer = fixture.Host.Client(new ActionflowCredentials(viewer.ClientId, viewer.ClientSecret));
        var refused = await Assert.ThrowsAsync<ActionflowApiException>(() => asViewer.UpdateWorkflowAsync(project, workflow.Id, active: true));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.Status);
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task RevokedKey_NextRequest_BackToSignInWithMessage()
    {
        var (project, key) = await fixture.ProjectWithKeyAsync("editor");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key);

        await fixture.Host.AdminClient().RevokeApiKeyAsync(project, key.ClientId);
        await page.GetByRole(AriaRole.Link, new() { Name = "Events" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Main).GetByRole(AriaRole.Alert)).ToContainTextAsync("no longer valid");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Reload_SignedIn_StaysSignedIn()
    {
        var (_, key) = await fixture.ProjectWithKeyAsync("viewer");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Events" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Events" })).ToBeVisibleAsync();

        await page.ReloadAsync();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Events" })).ToBeVisibleAsync();
        // What the tab keeps is encrypted: the secret is not in the browser's storage.
        var stored = await page.EvaluateAsync<string>("() => JSON.stringify(sessionStorage)");
        Assert.DoesNotContain(key.ClientSecret, stored, StringComparison.Ordinal);
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task PhoneWidth_MainPages_NoHorizontalScrolling()
    {
        var (project, key) = await fixture.ProjectWithKeyAsync("admin");
        var admin = fixture.Host.AdminClient();
        var workflow = await admin.CreateWorkflowAsync(project, "Phone");
        await admin.AddStepAsync(project, workflow.Id, "noop", "task_completed");
        await admin.UpdateWorkflowAsync(project, workflow.Id, active: true);
        var accepted = await admin.EmitEventAsync(project, new NewEvent("task_completed", TaskId: 7));
        var runs = await Poll.UntilAsync(
            () => admin.SearchRunsAsync(project, new RunQuery(EventId: accepted.Event.Id)),
            page => page.WorkflowRunList is [{ Status: "succeeded" }, ..],
            "the event's run succeeding");

        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress, Browser.Phone);
        var page = tab.Page;
        await page.GotoAsync("signin");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await AssertFitsAsync(tab, "sign-in-phone");
        await page.GetByLabel("Client ID").FillAsync(key.ClientId);
        await page.GetByLabel("Client secret").FillAsync(key.ClientSecret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        // Navigating before the sign-in has landed would drop the circuit that is still completing it.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows", Exact = true, Level = 1 })).ToBeVisibleAsync();

        var screens = new (string Path, string Heading, string Name)[]
        {
            ("workflows", "Workflows", "workflows-phone"),
            ($"workflows/{workflow.Id}", "Phone", "builder-phone"),
            ("runs", "Runs", "runs-phone"),
            ($"runs/{runs.WorkflowRunList[0].Id}", $"Run #{runs.WorkflowRunList[0].Id}", "run-phone"),
            ("events", "Events", "events-phone"),
            ("dead-letters", "Dead letters", "dead-letters-phone"),
            ("api-keys", "API keys", "api-keys-phone"),
        };
        foreach (var (path, heading, name) in screens)
        {
            await page.GotoAsync(path);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = heading, Exact = true, Level = 1 })).ToBeVisibleAsync();
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await AssertFitsAsync(tab, name);
        }

        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Keyboard_SignInAndNavigate_WithoutAMouse()
    {
        var (_, key) = await fixture.ProjectWithKeyAsync("viewer");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await page.GotoAsync("signin");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();

        await page.GetByLabel("Client ID").FocusAsync();
        await page.Keyboard.TypeAsync(key.ClientId);
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.GetByLabel("Client secret")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync(key.ClientSecret);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows" })).ToBeVisibleAsync();

        var runs = page.GetByRole(AriaRole.Link, new() { Name = "Runs" });
        await runs.FocusAsync();
        // Focus is visible: an outline drawn around the focused control.
        var outline = await runs.EvaluateAsync<string>("e => getComputedStyle(e).outlineStyle");
        Assert.NotEqual("none", outline);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Runs" })).ToBeVisibleAsync();
        tab.AssertNoErrors();
    }

    private static async Task AssertFitsAsync(Infrastructure.ConsolePage tab, string screenshot)
    {
        await tab.ScreenshotAsync(screenshot);
        var (scrollWidth, innerWidth) = await tab.WidthsAsync();
        Assert.True(scrollWidth <= innerWidth, $"{screenshot}: the page is {scrollWidth}px wide in a {innerWidth}px window");
    }

    private static async Task SignInAsync(IPage page, ApiKeyCreated key)
    {
        await page.GotoAsync("signin");
        await page.GetByLabel("Client ID").FillAsync(key.ClientId);
        await page.GetByLabel("Client secret").FillAsync(key.ClientSecret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows" })).ToBeVisibleAsync();
    }

    /// <summary>
    /// The form control around a labelled input: its message sits there (MudBlazor drops the input's aria-describedby
    /// while it shows an error, so the accessible description cannot be used).
    /// </summary>
    private static ILocator FieldOf(IPage page, ILocator input) => page.Locator(".mud-input-control", new() { Has = input });

    private static ILocator Button(IPage page, string name) => page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true });
}
