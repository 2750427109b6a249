using Actionflow.Console.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Actionflow.Console.Tests;

/// <summary>The Secrets page (set, list, delete; a value never shown) and issue 14's actions in the builder's palette.</summary>
public sealed class ConsoleSecretsTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private const string Value = "console-secret-value-81f3";

    [Fact]
    public async Task Secrets_EditorSetsListsAndDeletes_ValueNeverShown()
    {
        var (project, key) = await fixture.ProjectWithKeyAsync("editor");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key.ClientId, key.ClientSecret);

        await page.GetByRole(AriaRole.Link, new() { Name = "Secrets" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Secrets" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Value")).ToHaveAttributeAsync("type", "password");
        await page.GetByLabel("Name").FillAsync("SMTP_PASSWORD");
        await page.GetByLabel("Value").FillAsync(Value);
        await page.GetByLabel("Description").FillAsync("Mail relay login");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set secret" }).ClickAsync();

        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "SMTP_PASSWORD", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "Mail relay login", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Value")).ToHaveValueAsync("");
        Assert.DoesNotContain(Value, await page.ContentAsync(), StringComparison.Ordinal);
        var listed = Assert.Single(await fixture.Host.AdminClient().ListSecretsAsync(project));
        Assert.Equal("SMTP_PASSWORD", listed.Name);
        await tab.WithoutMessagesAsync();
        await tab.ScreenshotAsync("secrets");

        // A name the API refuses: its message shows next to the field.
        await page.GetByLabel("Name").FillAsync("9 bad");
        await page.GetByLabel("Value").FillAsync("x");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set secret" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "letters, digits or '_'" })).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Delete SMTP_PASSWORD" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Expect(page.GetByText("No secrets yet.")).ToBeVisibleAsync();
        Assert.Empty(await fixture.Host.AdminClient().ListSecretsAsync(project));
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Secrets_Viewer_NotInTheNavigation()
    {
        var (_, key) = await fixture.ProjectWithKeyAsync("viewer");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key.ClientId, key.ClientSecret);

        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Runs" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Secrets" })).ToHaveCountAsync(0);
        await page.GotoAsync("secrets");
        await Expect(page.GetByText("a viewer cannot list them", new() { Exact = false })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Palette_NewActions_OfferedWithTheirForms()
    {
        var (project, key) = await fixture.ProjectWithKeyAsync("editor");
        var workflow = await fixture.Host.AdminClient().CreateWorkflowAsync(project, "Classify and notify");
        await using var tab = await fixture.Browser.NewPageAsync(fixture.Host.BaseAddress);
        var page = tab.Page;
        await SignInAsync(page, key.ClientId, key.ClientSecret);
        await page.GetByRole(AriaRole.Link, new() { Name = workflow.Name }).ClickAsync();

        foreach (var name in new[] { "Email", "Zero Shot Classification (Hugging Face)", "Azure Text Analytics", "JSON Export", "HTTP request", "Transform" })
        {
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = $"Add {name} step", Exact = true })).ToBeVisibleAsync();
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Add Email step", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Step Email", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Host *")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Password", new() { Exact = true })).ToHaveAttributeAsync("type", "password");
        await Expect(page.GetByLabel("Security")).ToBeVisibleAsync();
        await tab.ScreenshotAsync("palette-email");
        tab.AssertNoErrors();
    }

    private static async Task SignInAsync(IPage page, string clientId, string secret)
    {
        await page.GotoAsync("signin");
        await page.GetByLabel("Client ID").FillAsync(clientId);
        await page.GetByLabel("Client secret").FillAsync(secret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows" })).ToBeVisibleAsync();
    }
}
