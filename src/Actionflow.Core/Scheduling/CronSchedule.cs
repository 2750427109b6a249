using System.Text.Json.Nodes;
using Cronos;

namespace Actionflow.Core.Scheduling;

/// <summary>A problem with one field of a configuration, named as the API names it (<c>trigger_data.time_zone</c>).</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>
/// A cron schedule: an expression and the IANA time zone it is read in. Immutable and thread-safe.
/// </summary>
/// <remarks>
/// Forms: five fields (<c>minute hour day-of-month month day-of-week</c>, as Diffgram stores them and crontab reads
/// them), or six with a seconds field first (<c>second minute hour day-of-month month day-of-week</c>, as Quartz and
/// Cronos write it). The count of whitespace-separated fields tells them apart, nothing else: a five-field
/// expression never gains a seconds field by accident. Macros (<c>@hourly</c>, <c>@daily</c>, ...) are five-field
/// forms, <c>@every_second</c> a six-field one.
/// Daylight saving is Cronos's: a time skipped when clocks go forward fires once at the first instant after the gap;
/// when clocks go back, a fixed time (<c>30 1 * * *</c>) fires once, in the first of the two hours, while an
/// interval (<c>*/15 * * * *</c>, <c>0 * * * *</c>) fires in both hours, since each of those instants is a tick.
/// </remarks>
public sealed class CronSchedule
{
    public const string ExpressionField = "trigger_data.cron_expression";
    public const string TimeZoneField = "trigger_data.time_zone";

    private readonly CronExpression _cron;

    private CronSchedule(string expression, CronExpression cron, bool hasSeconds, TimeZoneInfo zone)
    {
        Expression = expression;
        _cron = cron;
        HasSeconds = hasSeconds;
        TimeZone = zone;
    }

    /// <summary>The expression, whitespace-normalized.</summary>
    public string Expression { get; }

    public bool HasSeconds { get; }

    public TimeZoneInfo TimeZone { get; }

    /// <summary>The IANA id (<c>UTC</c> by default).</summary>
    public string TimeZoneId => TimeZone.Id;

    /// <summary>Parses <c>trigger_data.cron_expression</c> and the optional <c>trigger_data.time_zone</c>; errors name those fields.</summary>
    public static CronSchedule? Parse(string? expression, string? timeZone, out IReadOnlyList<FieldError> errors)
    {
        var found = new List<FieldError>();
        errors = found;
        var zone = ParseTimeZone(timeZone, found);
        var parsed = ParseExpression(expression, found);
        return found.Count == 0 ? new CronSchedule(parsed!.Value.Text, parsed.Value.Cron, parsed.Value.HasSeconds, zone!) : null;
    }

    /// <summary>Reads <c>cron_expression</c> and <c>time_zone</c> from a step's <c>trigger_data</c>.</summary>
    public static CronSchedule? FromTriggerData(JsonObject triggerData, out IReadOnlyList<FieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(triggerData);
        var found = new List<FieldError>();
        var expression = ReadString(triggerData, "cron_expression", ExpressionField, found);
        var zone = ReadString(triggerData, "time_zone", TimeZoneField, found);
        if (found.Count > 0)
        {
            errors = found;
            return null;
        }

        return Parse(expression, zone, out errors);
    }

    private static string? ReadString(JsonObject data, string name, string field, List<FieldError> errors)
    {
        var node = data[name];
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.TryGetValue<string>(out var s))
        {
            return s;
        }

        errors.Add(new FieldError(field, "must be a string"));
        return null;
    }

    private static (string Text, CronExpression Cron, bool HasSeconds)? ParseExpression(string? expression, List<FieldError> errors)
    {
        if (string.IsNullOrWhiteSpace(expression))
        {
            errors.Add(new FieldError(ExpressionField, "a cron expression is required for a time_trigger, e.g. \"0 * * * *\" (every hour)"));
            return null;
        }

        var fields = expression.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var text = string.Join(' ', fields);
        bool hasSeconds;
        if (fields is [var macro] && macro.StartsWith('@'))
        {
            hasSeconds = string.Equals(macro, "@every_second", StringComparison.OrdinalIgnoreCase);
        }
        else if (fields.Length is 5 or 6)
        {
            hasSeconds = fields.Length == 6;
        }
        else
        {
            errors.Add(new FieldError(ExpressionField,
                $"has {fields.Length} field(s); a cron expression has 5 (minute hour day-of-month month day-of-week) or 6 with seconds first (second minute hour day-of-month month day-of-week)"));
            return null;
        }

        try
        {
            return (text, CronExpression.Parse(text, hasSeconds ? CronFormat.IncludeSeconds : CronFormat.Standard), hasSeconds);
        }
        catch (CronFormatException e)
        {
            errors.Add(new FieldError(ExpressionField, $"'{text}' is not a valid cron expression: {e.Message}"));
            return null;
        }
    }

    private static TimeZoneInfo? ParseTimeZone(string? timeZone, List<FieldError> errors)
    {
        if (timeZone is null)
        {
            return TimeZoneInfo.Utc;
        }

        if (string.IsNullOrWhiteSpace(timeZone))
        {
            errors.Add(new FieldError(TimeZoneField, "is empty; leave it out for UTC or give an IANA time zone such as \"Europe/Berlin\""));
            return null;
        }

        if (string.Equals(timeZone, "UTC", StringComparison.Ordinal) || string.Equals(timeZone, "Etc/UTC", StringComparison.Ordinal))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (TimeZoneNotFoundException)
        {
            errors.Add(new FieldError(TimeZoneField, $"'{timeZone}' is not a known IANA time zone (e.g. \"America/New_York\", \"Europe/Berlin\", \"UTC\")"));
        }
        catch (InvalidTimeZoneException)
        {
            errors.Add(new FieldError(TimeZoneField, $"the time zone data for '{timeZone}' is invalid on this machine"));
        }

        return null;
    }

    /// <summary>The first tick strictly after <paramref name="instant"/>, with the zone's offset; null when there is none.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset instant) => _cron.GetNextOccurrence(instant, TimeZone, inclusive: false);

    /// <summary>The next <paramref name="count"/> ticks strictly after <paramref name="instant"/> (fewer if the schedule ends).</summary>
    public IReadOnlyList<DateTimeOffset> Next(DateTimeOffset instant, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var result = new List<DateTimeOffset>(count);
        var at = instant;
        while (result.Count < count && NextAfter(at) is { } next)
        {
            result.Add(next);
            at = next;
        }

        return result;
    }

    /// <summary>The last tick at or before <paramref name="instant"/>; null when there is none.</summary>
    public DateTimeOffset? LastAtOrBefore(DateTimeOffset instant) => _cron.GetPreviousOccurrence(instant, TimeZone, inclusive: true);

    /// <summary>The last tick strictly before <paramref name="instant"/>; null when there is none.</summary>
    public DateTimeOffset? NextBefore(DateTimeOffset instant) => _cron.GetPreviousOccurrence(instant, TimeZone, inclusive: false);

    public override string ToString() => $"{Expression} ({TimeZoneId})";
}
