using System.Text.RegularExpressions;
using Actionflow.Client;
using Actionflow.Console.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Actionflow.Console.Tests;

public sealed class ConsoleJourneyTests : IAsyncLifetime
{
    private ConsoleHost _host = null!;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        _host = await ConsoleHost.StartAsync();
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Explore()
    {
        await using var tab = await _browser.NewPageAsync(_host.BaseAddress);
        var page = tab.Page;
        await page.GotoAsync("/");
        await page.WaitForTimeoutAsync(4000);
        File.WriteAllText("/tmp/first.html", await page.ContentAsync());
        File.WriteAllText("/tmp/errors0.txt", string.Join('\n', tab.Errors) + "\n" + page.Url);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await tab.ScreenshotAsync("explore-signin");
        File.WriteAllText("/tmp/signin.html", await page.ContentAsync());
        await page.GetByLabel("Client secret").FillAsync(_host.SetupToken);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Welcome" })).ToBeVisibleAsync();
        await page.GetByLabel("Project ID").FillAsync("demo");
        await page.GetByLabel("Project name").FillAsync("Demo");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows" })).ToBeVisibleAsync();
        await page.GetByLabel("New workflow name").FillAsync("Hello");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create workflow" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add Webhook step" }).ClickAsync();
        await page.WaitForTimeoutAsync(1500);
        await tab.ScreenshotAsync("explore-builder");
        File.WriteAllText("/tmp/builder.html", await page.ContentAsync());
        File.WriteAllText("/tmp/errors.txt", string.Join('\n', tab.Errors));
    }
}
