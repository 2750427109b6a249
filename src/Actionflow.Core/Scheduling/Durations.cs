using System.Globalization;
using System.Text.RegularExpressions;

namespace Actionflow.Core.Scheduling;

/// <summary>Durations as people write them in a step's settings: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>, <c>1.5h</c>.</summary>
public static partial class Durations
{
    /// <summary>The form, as a JSON Schema <c>pattern</c>.</summary>
    public const string Pattern = @"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$";

    /// <summary>The duration <paramref name="text"/> writes; null when it is not of the form.</summary>
    public static TimeSpan? Parse(string? text)
    {
        var m = Text().Match(text ?? "");
        if (!m.Success)
        {
            return null;
        }

        var value = double.Parse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            "h" => TimeSpan.FromHours(value),
            _ => TimeSpan.FromDays(value),
        };
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex Text();
}
