using System.Globalization;
using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;
using Actionflow.Sdk;
using Microsoft.Extensions.Time.Testing;

namespace Actionflow.Core.Tests.Scheduling;

public sealed class ScheduleFiresTests
{
    private static readonly TimeSpan Threshold = TimeSpan.FromMinutes(1);

    private static Schedule Row(string cron, string zone = "UTC", DateTime? due = null, string catchUp = "once") => new()
    {
        ActionId = 11, ProjectId = 7, WorkflowId = 3, Kind = "Webhook", CronExpression = cron, TimeZone = zone, CatchUp = catchUp, NextDueAt = due,
    };

    [Fact]
    public void Plan_DueTick_AnEventForThatStepOnlyWithItsScheduledAndFiredTimes()
    {
        var due = new DateTime(2026, 3, 1, 10, 0, 0, DateTimeKind.Utc);

        var plan = ScheduleFires.Plan(Row("0 * * * *", due: due), due.AddMilliseconds(250), Threshold);

        var ev = Assert.Single(plan.Events);
        Assert.Equal((EventKinds.TimeTrigger, 7L, (long?)3, (long?)11, EventSources.Scheduler), (ev.Kind, ev.ProjectId, ev.WorkflowId, ev.ActionId, ev.Source));
        Assert.Equal(("2026-03-01T10:00:00.0000000Z", "2026-03-01T10:00:00.2500000Z", 250L),
            ((string?)ev.ExtraMetadata["scheduled_at"], (string?)ev.ExtraMetadata["fired_at"], (long)ev.ExtraMetadata["lag_ms"]!));
        Assert.Null(ev.ExtraMetadata["ticks"]);
        Assert.Equal("schedule:11:2026-03-01T10:00:00Z", ev.DedupKey);
        Assert.Equal(due.AddHours(1), plan.NextDue);
    }

    [Fact]
    public void Plan_NoDueTime_FiresNothing()
    {
        var plan = ScheduleFires.Plan(Row("0 * * * *"), DateTime.UtcNow, Threshold);

        Assert.Empty(plan.Events);
        Assert.Null(plan.NextDue);
    }

    [Fact]
    public void Plan_StoredExpressionNoLongerParses_StopsWithTheReason()
    {
        var plan = ScheduleFires.Plan(Row("not cron", due: new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc)), new DateTime(2026, 3, 1, 0, 0, 1, DateTimeKind.Utc), Threshold);

        Assert.Empty(plan.Events);
        Assert.Null(plan.NextDue);
        Assert.Contains("trigger_data.cron_expression", plan.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-03-27T12:00:00Z", new[] { "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00" })]
    [InlineData("2026-10-24T12:00:00Z", new[] { "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00" })]
    public void Plan_ASchedulerDrivenByAFakeClockOverADstDay_FiresEveryDayOnceNoneLostNoneTwice(string start, string[] expected)
    {
        // Daily at 02:30 in Berlin: on the spring-forward day 02:30 does not exist (it fires at 03:00, the first
        // instant after the gap); on the fall-back day it exists twice and fires once.
        var clock = new FakeTimeProvider(DateTimeOffset.Parse(start, CultureInfo.InvariantCulture));
        var cron = CronSchedule.Parse("30 2 * * *", "Europe/Berlin", out _)!;
        var row = Row("30 2 * * *", "Europe/Berlin", cron.NextAfter(clock.GetUtcNow())!.Value.UtcDateTime);
        var fired = new List<string>();
        while (fired.Count < 3)
        {
            // The scheduler sleeps until the row is due, and wakes a little late.
            clock.SetUtcNow(new DateTimeOffset(row.NextDueAt!.Value) + TimeSpan.FromMilliseconds(40));
            var plan = ScheduleFires.Plan(row, clock.GetUtcNow().UtcDateTime, Threshold);
            fired.AddRange(plan.Fires.Select(f => f.ScheduledAt.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture)));
            row.NextDueAt = plan.NextDue;
        }

        Assert.Equal(expected, fired);
    }

    [Fact]
    public void SettingsOf_StoredPolicy_IsTheCatchUpOfTheRow()
    {
        var settings = ScheduleFires.SettingsOf(Row("* * * * *", catchUp: "all"), TimeSpan.FromSeconds(5));

        Assert.Equal((CatchUpPolicy.All, CatchUpSettings.DefaultMaxFires, TimeSpan.FromSeconds(5)), (settings.Policy, settings.MaxFires, settings.MisfireThreshold));
    }
}
