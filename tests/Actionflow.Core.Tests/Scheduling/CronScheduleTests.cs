using System.Text.Json.Nodes;
using Actionflow.Core.Scheduling;

namespace Actionflow.Core.Tests.Scheduling;

public sealed class CronScheduleTests
{
    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    private static CronSchedule Schedule(string expression, string? zone = null)
    {
        var schedule = CronSchedule.Parse(expression, zone, out var errors);
        Assert.True(schedule is not null, string.Join("; ", errors));
        return schedule!;
    }

    private static string[] Instants(IEnumerable<DateTimeOffset> ticks) => [.. ticks.Select(t => t.ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public void Next_DiffgramFiveFieldCrontab_ReadsMinuteFirstInUtc()
    {
        var schedule = Schedule("0 * * * *");

        Assert.False(schedule.HasSeconds);
        Assert.Equal("UTC", schedule.TimeZoneId);
        Assert.Equal(
            ["2026-03-01T11:00:00+00:00", "2026-03-01T12:00:00+00:00", "2026-03-01T13:00:00+00:00"],
            Instants(schedule.Next(Utc("2026-03-01T10:15:00Z"), 3)));
    }

    [Fact]
    public void Next_SixFields_FirstFieldIsSeconds()
    {
        var schedule = Schedule("*/20 * * * * *");

        Assert.True(schedule.HasSeconds);
        Assert.Equal(
            ["2026-03-01T10:15:20+00:00", "2026-03-01T10:15:40+00:00", "2026-03-01T10:16:00+00:00"],
            Instants(schedule.Next(Utc("2026-03-01T10:15:00Z"), 3)));
    }

    [Theory]
    [InlineData("@hourly", false, "2026-03-01T11:00:00+00:00")]
    [InlineData("@daily", false, "2026-03-02T00:00:00+00:00")]
    [InlineData("@every_second", true, "2026-03-01T10:15:01+00:00")]
    [InlineData("  0   9 * *   1-5 ", false, "2026-03-02T09:00:00+00:00")]
    public void Parse_MacrosAndSpacing_AreAccepted(string expression, bool seconds, string next)
    {
        var schedule = Schedule(expression);

        Assert.Equal(seconds, schedule.HasSeconds);
        Assert.Equal(next, Instants([schedule.NextAfter(Utc("2026-03-01T10:15:00Z"))!.Value])[0]);
    }

    [Theory]
    [InlineData(null, null, "trigger_data.cron_expression", "a cron expression is required")]
    [InlineData("* * * *", null, "trigger_data.cron_expression", "has 4 field(s)")]
    [InlineData("0 0 0 * * * *", null, "trigger_data.cron_expression", "has 7 field(s)")]
    [InlineData("61 * * * *", null, "trigger_data.cron_expression", "'61 * * * *' is not a valid cron expression")]
    [InlineData("0 * * * MON-XYZ", null, "trigger_data.cron_expression", "is not a valid cron expression")]
    [InlineData("0 * * * *", "Mars/Olympus_Mons", "trigger_data.time_zone", "'Mars/Olympus_Mons' is not a known IANA time zone")]
    [InlineData("0 * * * *", "", "trigger_data.time_zone", "is empty")]
    public void Parse_Invalid_IsAFieldErrorNamingTheField(string? expression, string? zone, string field, string message)
    {
        var schedule = CronSchedule.Parse(expression, zone, out var errors);

        Assert.Null(schedule);
        var error = Assert.Single(errors);
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadExpressionAndZone_ReportsBoth()
    {
        CronSchedule.Parse("nope", "Nowhere/City", out var errors);

        Assert.Equal(["trigger_data.time_zone", "trigger_data.cron_expression"], errors.Select(e => e.Field));
    }

    [Fact]
    public void FromTriggerData_DiffgramTriggerWithZone_SchedulesInThatZone()
    {
        var trigger = new JsonObject { ["event_name"] = "time_trigger", ["cron_expression"] = "0 9 * * 1-5", ["time_zone"] = "Europe/Berlin" };

        var schedule = CronSchedule.FromTriggerData(trigger, out var errors);

        Assert.Empty(errors);
        // Friday noon UTC, then Monday 9:00 in Berlin, the day after clocks went forward (CEST, +02:00).
        Assert.Equal(["2026-03-30T09:00:00+02:00"], Instants(schedule!.Next(Utc("2026-03-27T12:00:00Z"), 1)));
        Assert.Equal(Utc("2026-03-30T07:00:00Z"), schedule.NextAfter(Utc("2026-03-27T12:00:00Z")));
    }

    [Fact]
    public void FromTriggerData_NonStringFields_AreFieldErrors()
    {
        CronSchedule.FromTriggerData(new JsonObject { ["cron_expression"] = 5, ["time_zone"] = true }, out var errors);

        Assert.Equal(["trigger_data.cron_expression", "trigger_data.time_zone"], errors.Select(e => e.Field));
    }

    [Theory]
    [InlineData("America/New_York", "2026-03-07T12:00:00Z", "2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00")]
    [InlineData("Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00")]
    public void Next_SpringForward_TheSkippedTimeFiresOnceRightAfterTheGap(string zone, string from, string before, string gapDay, string after)
    {
        var schedule = Schedule("30 2 * * *", zone);

        Assert.Equal([before, gapDay, after], Instants(schedule.Next(Utc(from).AddDays(-1), 3)));
    }

    [Theory]
    [InlineData("America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00")]
    [InlineData("Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00")]
    public void Next_FallBack_AFixedTimeInTheRepeatedHourFiresOnce(string zone, string from, string repeatedDay, string nextDay)
    {
        var schedule = Schedule(zone == "Europe/Berlin" ? "30 2 * * *" : "30 1 * * *", zone);

        Assert.Equal([repeatedDay, nextDay], Instants(schedule.Next(Utc(from), 2)));
    }

    [Fact]
    public void Next_FallBack_AnIntervalFiresInBothRepeatedHours()
    {
        var schedule = Schedule("*/30 * * * *", "America/New_York");

        Assert.Equal(
            ["2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"],
            Instants(schedule.Next(Utc("2026-11-01T04:45:00Z"), 5)));
    }

    [Fact]
    public void Next_ImpossibleDate_HasNoTick()
    {
        var schedule = Schedule("0 0 30 2 *");

        Assert.Null(schedule.NextAfter(Utc("2026-01-01T00:00:00Z")));
        Assert.Empty(schedule.Next(Utc("2026-01-01T00:00:00Z"), 5));
    }
}
