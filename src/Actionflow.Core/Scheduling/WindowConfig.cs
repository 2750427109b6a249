using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Actionflow.Core.Scheduling;

public enum WindowMode
{
    /// <summary>Collect events per key; run once with all of them at <c>max_events</c> or <c>max_wait</c> after the first.</summary>
    Batch,

    /// <summary>Run once per key with the last event after <c>quiet</c> without a new one, at the latest <c>max_wait</c> after the first.</summary>
    Debounce,

    /// <summary>At most one run per key per <c>period</c>: the first event runs, the others until the period ends are skipped.</summary>
    Throttle,
}

/// <summary>
/// A step's <c>trigger_data.window</c>:
/// <c>{"mode": "batch", "key": "directory_id", "max_events": 100, "max_wait": "5m"}</c>,
/// <c>{"mode": "debounce", "key": "extra_metadata.dataset", "quiet": "30s", "max_wait": "10m"}</c>,
/// <c>{"mode": "throttle", "key": "file_id", "period": "1h"}</c>.
/// Durations are a number of seconds or a string with a unit (<c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>,
/// <c>1d</c>); <c>max_wait</c> also takes Diffgram's <c>time_window</c> values (<c>1_minute</c> … <c>1_days</c>).
/// </summary>
public sealed partial record WindowConfig(WindowMode Mode, string Key, int? MaxEvents, TimeSpan? MaxWait, TimeSpan? Quiet, TimeSpan? Period)
{
    public const string Field = "trigger_data.window";
    public const int MaxMaxEvents = 10_000;
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(7);

    /// <summary>Diffgram's workflow <c>time_window</c> values (<c>TIME_WINDOW_SECONDS_MAPPER</c>), as a batch's <c>max_wait</c>.</summary>
    public static IReadOnlyDictionary<string, TimeSpan> DiffgramTimeWindows { get; } = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["1_minute"] = TimeSpan.FromSeconds(60),
        ["5_minutes"] = TimeSpan.FromSeconds(300),
        ["10_minutes"] = TimeSpan.FromSeconds(600),
        ["30_minutes"] = TimeSpan.FromSeconds(1800),
        ["1_hours"] = TimeSpan.FromSeconds(3600),
        ["4_hours"] = TimeSpan.FromSeconds(14400),
        ["12_hours"] = TimeSpan.FromSeconds(43200),
        ["1_days"] = TimeSpan.FromSeconds(86400),
    };

    private static readonly Dictionary<WindowMode, string[]> Allowed = new()
    {
        [WindowMode.Batch] = ["mode", "key", "max_events", "max_wait"],
        [WindowMode.Debounce] = ["mode", "key", "quiet", "max_wait"],
        [WindowMode.Throttle] = ["mode", "key", "period"],
    };

    /// <summary>Reads and validates <c>trigger_data.window</c>; every problem is a field error (<c>trigger_data.window.max_events</c>, ...).</summary>
    public static WindowConfig? Parse(JsonNode? window, out IReadOnlyList<FieldError> errors)
    {
        var found = new List<FieldError>();
        errors = found;
        if (window is not JsonObject obj)
        {
            found.Add(new FieldError(Field, "must be an object such as {\"mode\": \"batch\", \"key\": \"directory_id\", \"max_events\": 100}"));
            return null;
        }

        WindowMode mode;
        switch (ReadString(obj, "mode"))
        {
            case "batch":
                mode = WindowMode.Batch;
                break;
            case "debounce":
                mode = WindowMode.Debounce;
                break;
            case "throttle":
                mode = WindowMode.Throttle;
                break;
            default:
                found.Add(new FieldError(Field + ".mode", "must be \"batch\", \"debounce\" or \"throttle\""));
                return null;
        }

        foreach (var (name, _) in obj)
        {
            if (!Allowed[mode].Contains(name))
            {
                found.Add(new FieldError($"{Field}.{name}", $"is not a setting of a {ModeName(mode)} window (settings: {string.Join(", ", Allowed[mode])})"));
            }
        }

        var key = ReadString(obj, "key");
        if (key is null || !KeyPath().IsMatch(key))
        {
            found.Add(new FieldError(Field + ".key", "must be a path into the event such as \"directory_id\" or \"extra_metadata.dataset\""));
        }

        int? maxEvents = null;
        if (obj["max_events"] is { } me)
        {
            if (Json.JsonNodes.TryGetInt64(me, out var n) && n >= 1 && n <= MaxMaxEvents)
            {
                maxEvents = (int)n;
            }
            else
            {
                found.Add(new FieldError(Field + ".max_events", $"must be an integer from 1 to {MaxMaxEvents}"));
            }
        }

        var maxWait = ReadDuration(obj, "max_wait", found, acceptTimeWindow: true);
        var quiet = ReadDuration(obj, "quiet", found, acceptTimeWindow: false);
        var period = ReadDuration(obj, "period", found, acceptTimeWindow: false);

        switch (mode)
        {
            case WindowMode.Batch when maxEvents is null && maxWait is null && !found.Any(e => e.Field is Field + ".max_events" or Field + ".max_wait"):
                found.Add(new FieldError(Field + ".max_events", "a batch window needs max_events, max_wait or both"));
                break;
            case WindowMode.Debounce when quiet is null && !obj.ContainsKey("quiet"):
                found.Add(new FieldError(Field + ".quiet", "a debounce window needs quiet, the time without a new event after which it runs"));
                break;
            case WindowMode.Debounce when quiet is { } q && maxWait is { } w && w < q:
                found.Add(new FieldError(Field + ".max_wait", "must not be shorter than quiet"));
                break;
            case WindowMode.Throttle when period is null && !obj.ContainsKey("period"):
                found.Add(new FieldError(Field + ".period", "a throttle window needs period, the time between two runs of one key"));
                break;
        }

        return found.Count == 0 ? new WindowConfig(mode, key!, maxEvents, maxWait, quiet, period) : null;
    }

    /// <summary>Diffgram's workflow <c>time_window</c> as a batch's <c>max_wait</c>; null for null or an unknown value.</summary>
    public static TimeSpan? MaxWaitFromTimeWindow(string? timeWindow) =>
        timeWindow is not null && DiffgramTimeWindows.TryGetValue(timeWindow, out var span) ? span : null;

    /// <summary>
    /// The window key of an event: the JSON value at <see cref="Key"/> in canonical JSON text (<c>12</c>,
    /// <c>"cats"</c>); events without the path share the key <c>null</c>.
    /// </summary>
    public string KeyOf(JsonNode? ev)
    {
        var node = ev;
        foreach (var part in Key.Split('.'))
        {
            node = node is JsonObject obj ? obj[part] : null;
        }

        return node?.ToJsonString() ?? "null";
    }

    private static string ModeName(WindowMode mode) => mode.ToString().ToLowerInvariant();

    private static string? ReadString(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static TimeSpan? ReadDuration(JsonObject obj, string name, List<FieldError> errors, bool acceptTimeWindow)
    {
        if (obj[name] is not { } node)
        {
            return null;
        }

        var field = $"{Field}.{name}";
        TimeSpan? span = null;
        if (node is JsonValue v && v.TryGetValue<string>(out var text))
        {
            span = acceptTimeWindow ? MaxWaitFromTimeWindow(text) ?? ParseDuration(text) : ParseDuration(text);
        }
        else if (node is JsonValue n && double.TryParse(n.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds))
        {
            span = seconds is > 0 and < 1e9 ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero;
        }

        if (span is null)
        {
            var example = acceptTimeWindow ? ", or a Diffgram time_window such as \"5_minutes\"" : "";
            errors.Add(new FieldError(field, $"must be a duration: seconds, or a string such as \"500ms\", \"30s\", \"5m\", \"2h\", \"1d\"{example}"));
            return null;
        }

        if (span <= TimeSpan.Zero || span > MaxDuration)
        {
            errors.Add(new FieldError(field, $"must be more than 0 and at most {MaxDuration.TotalDays.ToString(CultureInfo.InvariantCulture)} days"));
            return null;
        }

        return span;
    }

    /// <summary><c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>, <c>1.5h</c>; null when not of that form.</summary>
    public static TimeSpan? ParseDuration(string text) => Durations.Parse(text);

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPath();
}
