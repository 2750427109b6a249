using Microsoft.Playwright;

namespace Actionflow.Console.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium driven by Playwright (its own browser download is not reachable here). Each page records the
/// errors the browser console shows, so a test can assert there are none.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    public static string ExecutablePath => Environment.GetEnvironmentVariable("ACTIONFLOW_TEST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<Browser> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"Chromium not found at {ExecutablePath}: apt-get install chromium (scripts/install-chromium.sh), or set ACTIONFLOW_TEST_CHROMIUM.");
        }

        // Playwright gives every launch a fresh temporary user-data dir of its own (it refuses --user-data-dir here).
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            ],
        });
        return new Browser(playwright, browser);
    }

    /// <summary>A fresh context (no storage shared with other pages) and its page.</summary>
    public async Task<ConsolePage> NewPageAsync(Uri baseAddress, ViewportSize? viewport = null)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseAddress.ToString(), ViewportSize = viewport ?? Desktop });
        context.SetDefaultTimeout(20_000);
        var page = await context.NewPageAsync();
        return new ConsolePage(context, page);
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}

/// <summary>One browser page, with the errors its console showed.</summary>
public sealed class ConsolePage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];

    public ConsolePage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors)
                {
                    _errors.Add(message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add(error);
            }
        };
    }

    public IPage Page { get; }

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Errors other than the ones a test provoked on purpose (a 403 answered to a forced request shows none in the browser: it is handled on the server).</summary>
    public void AssertNoErrors() => Assert.True(Errors.Count == 0, "browser console errors:\n" + string.Join('\n', Errors));

    /// <summary>Writes artifacts/screenshots/{name}.png.</summary>
    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Paths.Screenshots, name + ".png"), FullPage = true, Animations = ScreenshotAnimations.Disabled });

    /// <summary>Waits until the page's messages (snackbars) have gone, for a picture of the page itself.</summary>
    public Task WithoutMessagesAsync() =>
        Microsoft.Playwright.Assertions.Expect(Page.Locator(".mud-snackbar")).ToHaveCountAsync(0, new() { Timeout = 20_000 });

    /// <summary>Whether the page is wider than the window (horizontal scrolling).</summary>
    public async Task<(int ScrollWidth, int InnerWidth)> WidthsAsync() =>
        (await Page.EvaluateAsync<int>("document.documentElement.scrollWidth"), await Page.EvaluateAsync<int>("window.innerWidth"));

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}
