using Actionflow.Console;
using Actionflow.Console.Components;
using Actionflow.Console.Session;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MudBlazor.Services;

namespace Microsoft.Extensions.DependencyInjection;

public static class ConsoleServiceCollectionExtensions
{
    /// <summary>
    /// The web console: Blazor interactive server with MudBlazor. Its server side calls the API over loopback with the
    /// signed-in person's credentials, kept in the circuit (and, encrypted, in the tab's session storage).
    /// </summary>
    public static IServiceCollection AddActionflowConsole(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(ConsoleOptions.Section).Get<ConsoleOptions>() ?? new ConsoleOptions();
        services.AddSingleton(options);
        if (!options.Enabled)
        {
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddRazorComponents().AddInteractiveServerComponents();
        // Messages at the bottom, clear of the page's own buttons at the top.
        services.AddMudServices(c =>
        {
            c.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomRight;
            c.SnackbarConfiguration.MaxDisplayedSnackbars = 3;
            c.SnackbarConfiguration.VisibleStateDuration = 4000;
        });
        services.AddHttpClient(ConsoleApiAddress.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<ConsoleApiAddress>();
        services.AddScoped<ConsoleSession>();
        // Keys on disk survive restarts, so a tab's remembered sign-in stays readable; several processes share the folder.
        var keys = options.KeysDirectory is { Length: > 0 } dir ? dir : Path.Combine(dataDirectory, "console-keys");
        services.AddDataProtection().SetApplicationName("actionflow-console").PersistKeysToFileSystem(new DirectoryInfo(keys));
        return services;
    }

    /// <summary>The console's pages at <c>/</c>, its static files and the Blazor hub; after the API.</summary>
    public static WebApplication MapActionflowConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (!app.Services.GetRequiredService<ConsoleOptions>().Enabled)
        {
            return app;
        }

        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
