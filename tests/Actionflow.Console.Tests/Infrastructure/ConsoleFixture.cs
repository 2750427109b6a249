using Actionflow.Client;

namespace Actionflow.Console.Tests.Infrastructure;

/// <summary>One actionflow process (embedded) and one browser shared by the tests of a class; each test makes its own project.</summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public ConsoleHost Host { get; private set; } = null!;

    public Browser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Microsoft.Playwright.Assertions.SetDefaultExpectTimeout(20_000);
        Host = await ConsoleHost.StartAsync();
        Browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await Host.DisposeAsync();
    }

    /// <summary>A project with a key of <paramref name="role"/>, made through the typed client with the setup token.</summary>
    public async Task<(string Project, ApiKeyCreated Key)> ProjectWithKeyAsync(string role)
    {
        var admin = Host.AdminClient();
        var project = "p" + Guid.NewGuid().ToString("N")[..10];
        await admin.CreateProjectAsync(project, "Project " + project);
        return (project, await admin.CreateApiKeyAsync(project, role));
    }
}
