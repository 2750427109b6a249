using MudBlazor;

namespace Actionflow.Console.Components;

internal static class ConsoleTheme
{
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#3f51b5",
            Secondary = "#00897b",
            AppbarBackground = "#283593",
        },
    };
}
