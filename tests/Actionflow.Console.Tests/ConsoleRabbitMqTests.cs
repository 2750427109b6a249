using System.Text;
using System.Text.RegularExpressions;
using Actionflow.Client;
using Actionflow.Console.Tests.Infrastructure;
using Microsoft.Playwright;
using RabbitMQ.Client;
using static Microsoft.Playwright.Assertions;

namespace Actionflow.Console.Tests;

/// <summary>The console on RabbitMQ + PostgreSQL: the same pages, the run seen live through the API's stream.</summary>
public sealed class ConsoleRabbitMqTests
{
    [Fact]
    public async Task EmitFromConsole_RabbitMqAndPostgres_RunSucceedsOnThePageLive()
    {
        SetDefaultExpectTimeout(20_000);
        await using var services = await Services.CreateAsync();
        await using var host = await ConsoleHost.StartAsync(new Dictionary<string, string>
        {
            ["Actionflow__Database"] = services.Database,
            ["Actionflow__Broker"] = services.Broker,
        });
        await using var browser = await Browser.LaunchAsync();
        var admin = host.AdminClient();
        await admin.CreateProjectAsync("rabbit", "On RabbitMQ");
        var key = await admin.CreateApiKeyAsync("rabbit", "editor");
        var workflow = await admin.CreateWorkflowAsync("rabbit", "Broker run");
        await admin.AddStepAsync("rabbit", workflow.Id, "noop", "task_completed");
        await admin.UpdateWorkflowAsync("rabbit", workflow.Id, active: true);

        await using var tab = await browser.NewPageAsync(host.BaseAddress);
        var page = tab.Page;
        await page.GotoAsync("signin");
        await page.GetByLabel("Client ID").FillAsync(key.ClientId);
        await page.GetByLabel("Client secret").FillAsync(key.ClientSecret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Runs" }).ClickAsync();
        await Expect(page.GetByText("0 runs match")).ToBeVisibleAsync();
        await Expect(page.GetByText("Live", new() { Exact = true })).ToBeVisibleAsync();

        // Emitted elsewhere (a script, the host application): the open runs list shows it without a reload.
        await page.EvaluateAsync("() => window.afNotReloaded = true");
        await admin.EmitEventAsync("rabbit", new NewEvent("task_completed", TaskId: 1));
        await Expect(page.GetByText("1 run matches")).ToBeVisibleAsync(new() { Timeout = 45_000 });
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "Broker run" })).ToContainTextAsync("succeeded", new() { Timeout = 45_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.afNotReloaded === true"), "the runs page was reloaded");

        await page.GetByRole(AriaRole.Link, new() { NameRegex = new Regex(@"^#\d+$") }).First.ClickAsync();
        await Expect(page.GetByTestId("run-status")).ToContainTextAsync("succeeded");
        await Expect(page.GetByLabel("Output of No-op")).ToContainTextAsync("noop");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task InstallationDeadLetters_AdminToken_MessageWithoutProjectShownAndDiscarded()
    {
        SetDefaultExpectTimeout(20_000);
        await using var services = await Services.CreateAsync();
        await using var host = await ConsoleHost.StartAsync(new Dictionary<string, string>
        {
            ["Actionflow__Database"] = services.Database,
            ["Actionflow__Broker"] = services.Broker,
        });
        await using var browser = await Browser.LaunchAsync();
        var admin = host.AdminClient();
        await admin.CreateProjectAsync("letters", "Letters");

        // A publisher sends something that names no project: no project's list can show it.
        await using (var connection = await new ConnectionFactory { Uri = new Uri(services.Broker) }.CreateConnectionAsync("console test publisher"))
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.BasicPublishAsync("events", "events.new", mandatory: false, new BasicProperties { ContentType = "application/json" },
                Encoding.UTF8.GetBytes("not json, no project"));
        }

        await using var tab = await browser.NewPageAsync(host.BaseAddress);
        var page = tab.Page;
        await page.GotoAsync("signin");
        await page.GetByLabel("Client secret").FillAsync(host.SetupToken);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Workflows" })).ToBeVisibleAsync();
        var letters = await Poll.UntilAsync(() => admin.ListInstallationDeadLettersAsync(), l => l.Count == 1, "the message being dead-lettered");
        await page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" }).ClickAsync();

        var project = page.GetByRole(AriaRole.Region, new() { Name = "Project letters" });
        var installation = page.GetByRole(AriaRole.Region, new() { Name = "Installation" });
        await Expect(project.GetByText("No dead letters.")).ToBeVisibleAsync();
        await Expect(installation.GetByText("no project", new() { Exact = true })).ToBeVisibleAsync();
        await installation.GetByText("Message and headers").ClickAsync();
        await tab.ScreenshotAsync("dead-letters-installation");
        await Expect(installation.GetByLabel($"Message of dead letter {letters[0].Id}")).ToContainTextAsync("not json, no project");

        await installation.GetByRole(AriaRole.Button, new() { Name = $"Discard dead letter {letters[0].Id}" }).ClickAsync();
        await Expect(page.GetByText($"Dead letter #{letters[0].Id} discarded.")).ToBeVisibleAsync();
        await Expect(installation.GetByText("No dead letters.")).ToBeVisibleAsync();
        Assert.Empty(await admin.ListInstallationDeadLettersAsync());
        tab.AssertNoErrors();
    }
}
