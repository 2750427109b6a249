using System.Text.Json.Nodes;
using Actionflow.Core.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Actionflow.Core.Tests.Scheduling;

public sealed class CatchUpTests
{
    private static readonly DateTimeOffset Ten = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private static CronSchedule Schedule(string expression, string? zone = null) => CronSchedule.Parse(expression, zone, out _)!;

    private static string[] Times(CatchUpPlan plan) => [.. plan.Fires.Select(f => $"{f.ScheduledAt.UtcDateTime:HH:mm:ss}x{f.Ticks}")];

    [Fact]
    public void Decide_BeforeDue_FiresNothingAndKeepsTheDueTime()
    {
        var plan = CatchUp.Decide(Schedule("0 * * * *"), Ten, Ten.AddSeconds(-1), CatchUpSettings.Default);

        Assert.Empty(plan.Fires);
        Assert.Equal(0, plan.Dropped);
        Assert.Equal(Ten, plan.NextDue);
    }

    [Theory]
    [InlineData(CatchUpPolicy.Skip)]
    [InlineData(CatchUpPolicy.Once)]
    [InlineData(CatchUpPolicy.All)]
    public void Decide_OnTime_FiresTheTickUnderEveryPolicyAndMovesToTheNext(CatchUpPolicy policy)
    {
        var plan = CatchUp.Decide(Schedule("0 * * * *"), Ten, Ten.AddMilliseconds(700), new CatchUpSettings(policy));

        Assert.Equal(["10:00:00x1"], Times(plan));
        Assert.Equal(0, plan.Dropped);
        Assert.Equal(Ten.AddHours(1), plan.NextDue);
    }

    [Fact]
    public void Decide_ExactlyOnTheNextTick_FiresBothAndNeverRefiresThem()
    {
        var schedule = Schedule("* * * * *");

        var plan = CatchUp.Decide(schedule, Ten, Ten.AddMinutes(1), CatchUpSettings.Default);

        Assert.Equal(["10:00:00x1", "10:01:00x1"], Times(plan));
        Assert.Equal(Ten.AddMinutes(2), plan.NextDue);
    }

    [Theory]
    [InlineData(CatchUpPolicy.Skip, 0, new[] { "10:10:00x1" }, 10)]
    [InlineData(CatchUpPolicy.Once, 0, new[] { "10:09:00x10", "10:10:00x1" }, 0)]
    [InlineData(CatchUpPolicy.All, 3, new[] { "10:07:00x1", "10:08:00x1", "10:09:00x1", "10:10:00x1" }, 7)]
    [InlineData(CatchUpPolicy.All, 100, new[] { "10:00:00x1", "10:01:00x1", "10:02:00x1", "10:03:00x1", "10:04:00x1", "10:05:00x1", "10:06:00x1", "10:07:00x1", "10:08:00x1", "10:09:00x1", "10:10:00x1" }, 0)]
    public void Decide_TenMinutesDown_ThePolicyDecidesTheMissedTicks(CatchUpPolicy policy, int max, string[] fires, int dropped)
    {
        // Every minute; every worker was down from 09:59:30 to 10:10:30. 10:10 is within the one-minute threshold.
        var plan = CatchUp.Decide(Schedule("* * * * *"), Ten, Ten.AddMinutes(10).AddSeconds(30), new CatchUpSettings(policy, max == 0 ? 100 : max));

        Assert.Equal(fires, Times(plan));
        Assert.Equal(dropped, plan.Dropped);
        Assert.Equal(Ten.AddMinutes(11), plan.NextDue);
    }

    [Fact]
    public void Decide_ThresholdIsConfigurable()
    {
        var plan = CatchUp.Decide(Schedule("0 * * * *"), Ten, Ten.AddMinutes(5), new CatchUpSettings(CatchUpPolicy.Skip, Threshold: TimeSpan.FromMinutes(10)));

        Assert.Equal(["10:00:00x1"], Times(plan));
    }

    [Fact]
    public void Decide_AYearDownOnAPerSecondSchedule_StopsCountingAndStaysBounded()
    {
        var plan = CatchUp.Decide(Schedule("* * * * * *"), Ten, Ten.AddDays(365), CatchUpSettings.Default);

        // Counting stops at the limit; the last 61 ticks (now - 60 s .. now) are on time and fire one by one.
        var fire = Assert.Single(plan.Fires, f => f.Ticks > 1);
        Assert.Equal(CatchUp.CountLimit - 61, fire.Ticks);
        Assert.Equal(62, plan.Fires.Count);
        Assert.Equal(Ten.AddDays(365).AddSeconds(1), plan.NextDue);
    }

    [Fact]
    public void Decide_PolledByAFakeClockThroughBothDstDays_FiresEveryTickExactlyOnce()
    {
        // A worker polls at uneven intervals through the fall-back day and the spring-forward day in New York.
        foreach (var start in new[] { new DateTimeOffset(2026, 10, 31, 12, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 7, 12, 0, 0, TimeSpan.Zero) })
        {
            var schedule = Schedule("*/15 * * * *", "America/New_York");
            var clock = new FakeTimeProvider(start);
            var end = start.AddDays(2);
            var due = schedule.NextAfter(clock.GetUtcNow());
            var fired = new List<DateTimeOffset>();
            var random = new Random(7);
            while (clock.GetUtcNow() < end)
            {
                clock.Advance(TimeSpan.FromSeconds(random.Next(1, 400)));
                var plan = CatchUp.Decide(schedule, due!.Value, clock.GetUtcNow(), CatchUpSettings.Default with { Threshold = TimeSpan.FromHours(1) });
                fired.AddRange(plan.Fires.Select(f => f.ScheduledAt));
                due = plan.NextDue;
            }

            var expected = schedule.Next(start, 400).Where(t => t <= fired[^1]).ToList();
            Assert.Equal(expected, fired);
            Assert.Equal(fired.Count, fired.Distinct().Count());
        }
    }

    [Fact]
    public void Decide_FallBackDay_TheRepeatedHourOfAnIntervalFiresTwiceAsTwoTicks()
    {
        var schedule = Schedule("0 * * * *", "America/New_York");
        var due = new DateTimeOffset(2026, 11, 1, 4, 0, 0, TimeSpan.Zero); // 00:00 EDT

        var plan = CatchUp.Decide(schedule, due, due.AddHours(3), new CatchUpSettings(CatchUpPolicy.All, Threshold: TimeSpan.FromHours(4)));

        Assert.Equal(["04:00:00x1", "05:00:00x1", "06:00:00x1", "07:00:00x1"], Times(plan));
    }

    [Theory]
    [InlineData("""{"catch_up": "skip"}""", CatchUpPolicy.Skip, 100)]
    [InlineData("""{}""", CatchUpPolicy.Once, 100)]
    [InlineData("""{"catch_up": "all", "catch_up_max": 25}""", CatchUpPolicy.All, 25)]
    public void FromTriggerData_Valid_ReadsPolicyAndCap(string json, CatchUpPolicy policy, int max)
    {
        var settings = CatchUpSettings.FromTriggerData(JsonNode.Parse(json)!.AsObject(), out var errors);

        Assert.Empty(errors);
        Assert.Equal(policy, settings!.Policy);
        Assert.Equal(max, settings.MaxFires);
        Assert.Equal(policy.ToString().ToLowerInvariant(), settings.PolicyName);
    }

    [Theory]
    [InlineData("""{"catch_up": "sometimes"}""", "trigger_data.catch_up")]
    [InlineData("""{"catch_up": "all", "catch_up_max": 0}""", "trigger_data.catch_up_max")]
    [InlineData("""{"catch_up": "once", "catch_up_max": 5}""", "trigger_data.catch_up_max")]
    public void FromTriggerData_Invalid_IsAFieldError(string json, string field)
    {
        var settings = CatchUpSettings.FromTriggerData(JsonNode.Parse(json)!.AsObject(), out var errors);

        Assert.Null(settings);
        Assert.Equal(field, Assert.Single(errors).Field);
    }
}
