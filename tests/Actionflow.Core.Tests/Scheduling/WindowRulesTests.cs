using System.Text.Json.Nodes;
using Actionflow.Core.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Actionflow.Core.Tests.Scheduling;

public sealed class WindowRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private static WindowConfig Config(string json)
    {
        var config = WindowConfig.Parse(JsonNode.Parse(json), out var errors);
        Assert.True(config is not null, string.Join("; ", errors));
        return config!;
    }

    [Fact]
    public void Batch_MaxEventsReached_ClosesWithEveryMemberInArrivalOrder()
    {
        var config = Config("""{"mode": "batch", "key": "directory_id", "max_events": 3, "max_wait": "1m"}""");

        var first = WindowRules.OnEvent(config, null, "12", 1, T0);
        var second = WindowRules.OnEvent(config, first.State, "12", 2, T0.AddSeconds(5));
        var third = WindowRules.OnEvent(config, second.State, "12", 3, T0.AddSeconds(9));

        Assert.Equal((WindowOutcome.Opened, T0.AddMinutes(1)), (first.Outcome, first.WakeAt));
        Assert.Empty(first.Runs);
        Assert.Equal(WindowOutcome.Added, second.Outcome);
        Assert.Equal(2, second.State!.Version);
        Assert.Equal(T0.AddMinutes(1), second.WakeAt);
        Assert.Equal(WindowOutcome.Closed, third.Outcome);
        Assert.Null(third.State);
        Assert.Equal([1L, 2, 3], Assert.Single(third.Runs));
    }

    [Fact]
    public void Batch_MaxWaitPassed_ClosesOnTheTickNotBefore()
    {
        var config = Config("""{"mode": "batch", "key": "directory_id", "max_events": 100, "max_wait": "1_minute"}""");
        var state = WindowRules.OnEvent(config, null, "12", 1, T0).State;
        state = WindowRules.OnEvent(config, state, "12", 2, T0.AddSeconds(30)).State!;

        var early = WindowRules.OnTick(config, state, T0.AddSeconds(59.9));
        var due = WindowRules.OnTick(config, state, T0.AddSeconds(60));

        Assert.Equal((WindowOutcome.Waiting, T0.AddMinutes(1)), (early.Outcome, early.WakeAt));
        Assert.Same(state, early.State);
        Assert.Equal(WindowOutcome.Closed, due.Outcome);
        Assert.Null(due.State);
        Assert.Equal([1L, 2], Assert.Single(due.Runs));
    }

    [Fact]
    public void Batch_EventAfterCloseTimeBeforeTheTick_ClosesTheOldWindowAndOpensANewOne()
    {
        var config = Config("""{"mode": "batch", "key": "directory_id", "max_wait": 60}""");
        var state = WindowRules.OnEvent(config, null, "12", 1, T0).State;
        state = WindowRules.OnEvent(config, state, "12", 2, T0.AddSeconds(10)).State;

        var late = WindowRules.OnEvent(config, state, "12", 3, T0.AddSeconds(61));

        Assert.Equal(WindowOutcome.Closed, late.Outcome);
        Assert.Equal([1L, 2], Assert.Single(late.Runs));
        Assert.Equal([3L], late.State!.Members);
        Assert.Equal(T0.AddSeconds(121), late.State.CloseAt);
        Assert.Equal(3, late.State.Version);
    }

    [Fact]
    public void Batch_OnlyMaxEvents_NeverAsksForAWakeUp()
    {
        var config = Config("""{"mode": "batch", "key": "directory_id", "max_events": 5}""");

        var opened = WindowRules.OnEvent(config, null, "12", 1, T0);

        Assert.Null(opened.WakeAt);
        Assert.Equal(WindowOutcome.Waiting, WindowRules.OnTick(config, opened.State!, T0.AddDays(6)).Outcome);
    }

    [Fact]
    public void Batch_MaxEventsOne_RunsEachEventAlone()
    {
        var config = Config("""{"mode": "batch", "key": "directory_id", "max_events": 1}""");

        var decision = WindowRules.OnEvent(config, null, "12", 9, T0);

        Assert.Equal(WindowOutcome.Closed, decision.Outcome);
        Assert.Null(decision.State);
        Assert.Equal([9L], Assert.Single(decision.Runs));
    }

    [Fact]
    public void Batch_ThousandEventsOfFiveKeys_GiveExactlyTenRunsOfAHundred()
    {
        var config = Config("""{"mode": "batch", "key": "extra_metadata.dataset", "max_events": 100, "max_wait": "10m"}""");
        var clock = new FakeTimeProvider(T0);
        var windows = new Dictionary<string, WindowState>();
        var runs = new List<IReadOnlyList<long>>();
        for (var id = 1L; id <= 1_000; id++)
        {
            var ev = new JsonObject { ["id"] = id, ["extra_metadata"] = new JsonObject { ["dataset"] = $"set-{id % 5}" } };
            var key = config.KeyOf(ev);
            clock.Advance(TimeSpan.FromMilliseconds(100));
            var decision = WindowRules.OnEvent(config, windows.GetValueOrDefault(key), key, id, clock.GetUtcNow());
            runs.AddRange(decision.Runs);
            if (decision.State is null)
            {
                windows.Remove(key);
            }
            else
            {
                windows[key] = decision.State;
            }
        }

        Assert.Equal(10, runs.Count);
        Assert.All(runs, r => Assert.Equal(100, r.Count));
        Assert.Equal(1_000, runs.SelectMany(r => r).Distinct().Count());
        Assert.All(runs, r => Assert.Single(r.Select(id => id % 5).Distinct()));
        Assert.Empty(windows);
    }

    [Fact]
    public void Debounce_NewEventWithinQuiet_PushesTheCloseAndSupersedesTheEarlierEvent()
    {
        var config = Config("""{"mode": "debounce", "key": "file_id", "quiet": "30s", "max_wait": "2m"}""");

        var first = WindowRules.OnEvent(config, null, "7", 1, T0);
        var second = WindowRules.OnEvent(config, first.State, "7", 2, T0.AddSeconds(20));
        var early = WindowRules.OnTick(config, second.State!, T0.AddSeconds(49));
        var due = WindowRules.OnTick(config, second.State!, T0.AddSeconds(50));

        Assert.Equal((WindowOutcome.Opened, T0.AddSeconds(30)), (first.Outcome, first.WakeAt));
        Assert.Equal((WindowOutcome.Added, T0.AddSeconds(50)), (second.Outcome, second.WakeAt));
        var skipped = Assert.Single(second.Skipped);
        Assert.Equal(1, skipped.EventId);
        Assert.StartsWith("debounced: superseded by event 2", skipped.Reason, StringComparison.Ordinal);
        Assert.Equal(WindowOutcome.Waiting, early.Outcome);
        Assert.Equal([2L], Assert.Single(due.Runs));
        Assert.Null(due.State);
    }

    [Fact]
    public void Debounce_EventsKeepComing_MaxWaitCapsTheWindow()
    {
        var config = Config("""{"mode": "debounce", "key": "file_id", "quiet": 30, "max_wait": 120}""");
        var clock = new FakeTimeProvider(T0);
        var decision = WindowRules.OnEvent(config, null, "7", 0, clock.GetUtcNow());
        for (var id = 1; id <= 5; id++)
        {
            clock.Advance(TimeSpan.FromSeconds(20));
            decision = WindowRules.OnEvent(config, decision.State, "7", id, clock.GetUtcNow());
        }

        Assert.Equal(T0.AddSeconds(120), decision.State!.CloseAt);
        clock.Advance(TimeSpan.FromSeconds(20));
        var closed = WindowRules.OnTick(config, decision.State, clock.GetUtcNow());
        Assert.Equal([5L], Assert.Single(closed.Runs));
        Assert.Equal(6, decision.State.Count);
    }

    [Fact]
    public void Throttle_OneRunPerPeriod_OthersSkippedWithTheReason()
    {
        var config = Config("""{"mode": "throttle", "key": "file_id", "period": "1m"}""");

        var first = WindowRules.OnEvent(config, null, "7", 1, T0);
        var second = WindowRules.OnEvent(config, first.State, "7", 2, T0.AddSeconds(30));
        var third = WindowRules.OnEvent(config, second.State, "7", 3, T0.AddSeconds(60));

        Assert.Equal(WindowOutcome.Passed, first.Outcome);
        Assert.Equal([1L], Assert.Single(first.Runs));
        Assert.Equal(WindowOutcome.Skipped, second.Outcome);
        Assert.Empty(second.Runs);
        var skipped = Assert.Single(second.Skipped);
        Assert.Equal(2, skipped.EventId);
        Assert.Equal("throttled: key 7 ran at 2026-03-01T10:00:00.0000000+00:00; the next run is allowed from 2026-03-01T10:01:00.0000000+00:00", skipped.Reason);
        Assert.Equal(WindowOutcome.Passed, third.Outcome);
        Assert.Equal([3L], Assert.Single(third.Runs));
        Assert.Equal(T0.AddSeconds(120), third.State!.CloseAt);
    }

    [Fact]
    public void Throttle_PeriodOver_TheTickExpiresTheRow()
    {
        var config = Config("""{"mode": "throttle", "key": "file_id", "period": "1m"}""");
        var state = WindowRules.OnEvent(config, null, "7", 1, T0).State!;

        Assert.Equal(WindowOutcome.Waiting, WindowRules.OnTick(config, state, T0.AddSeconds(59)).Outcome);
        var expired = WindowRules.OnTick(config, state, T0.AddSeconds(60));
        Assert.Equal(WindowOutcome.Expired, expired.Outcome);
        Assert.Null(expired.State);
        Assert.Empty(expired.Runs);
    }

    [Fact]
    public void OnEvent_StateOfAnotherKey_IsRefused()
    {
        var config = Config("""{"mode": "throttle", "key": "file_id", "period": "1m"}""");
        var state = WindowRules.OnEvent(config, null, "7", 1, T0).State;

        Assert.Throws<ArgumentException>(() => WindowRules.OnEvent(config, state, "8", 2, T0));
    }

    [Theory]
    [InlineData("1_minute", 60)]
    [InlineData("5_minutes", 300)]
    [InlineData("10_minutes", 600)]
    [InlineData("30_minutes", 1800)]
    [InlineData("1_hours", 3600)]
    [InlineData("4_hours", 14400)]
    [InlineData("12_hours", 43200)]
    [InlineData("1_days", 86400)]
    public void MaxWaitFromTimeWindow_DiffgramValues_MapToTheirSeconds(string timeWindow, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), WindowConfig.MaxWaitFromTimeWindow(timeWindow));
        Assert.Equal(TimeSpan.FromSeconds(seconds), Config($$"""{"mode": "batch", "key": "directory_id", "max_wait": "{{timeWindow}}"}""").MaxWait);
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1.5h", 5400)]
    [InlineData("1d", 86400)]
    public void ParseDuration_Units(string text, double seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), WindowConfig.ParseDuration(text));

    [Theory]
    [InlineData("""{"key": "directory_id"}""", "trigger_data.window.mode")]
    [InlineData("""{"mode": "tumble", "key": "directory_id"}""", "trigger_data.window.mode")]
    [InlineData("""{"mode": "batch", "max_events": 3}""", "trigger_data.window.key")]
    [InlineData("""{"mode": "batch", "key": "extra_metadata..x", "max_events": 3}""", "trigger_data.window.key")]
    [InlineData("""{"mode": "batch", "key": "directory_id", "max_events": 0}""", "trigger_data.window.max_events")]
    [InlineData("""{"mode": "batch", "key": "directory_id", "max_events": 10001}""", "trigger_data.window.max_events")]
    [InlineData("""{"mode": "batch", "key": "directory_id", "max_events": "ten"}""", "trigger_data.window.max_events")]
    [InlineData("""{"mode": "batch", "key": "directory_id"}""", "trigger_data.window.max_events")]
    [InlineData("""{"mode": "batch", "key": "directory_id", "max_wait": "5 minutes"}""", "trigger_data.window.max_wait")]
    [InlineData("""{"mode": "batch", "key": "directory_id", "max_wait": "8d"}""", "trigger_data.window.max_wait")]
    [InlineData("""{"mode": "batch", "key": "directory_id", "max_wait": -1}""", "trigger_data.window.max_wait")]
    [InlineData("""{"mode": "batch", "key": "directory_id", "max_events": 5, "quiet": "1s"}""", "trigger_data.window.quiet")]
    [InlineData("""{"mode": "debounce", "key": "directory_id"}""", "trigger_data.window.quiet")]
    [InlineData("""{"mode": "debounce", "key": "directory_id", "quiet": "1_minute"}""", "trigger_data.window.quiet")]
    [InlineData("""{"mode": "debounce", "key": "directory_id", "quiet": "1m", "max_wait": "30s"}""", "trigger_data.window.max_wait")]
    [InlineData("""{"mode": "throttle", "key": "directory_id"}""", "trigger_data.window.period")]
    [InlineData("""{"mode": "throttle", "key": "directory_id", "period": "1m", "max_events": 2}""", "trigger_data.window.max_events")]
    [InlineData("""[1, 2]""", "trigger_data.window")]
    public void Parse_Invalid_IsAFieldErrorOnTheSetting(string json, string field)
    {
        var config = WindowConfig.Parse(JsonNode.Parse(json), out var errors);

        Assert.Null(config);
        Assert.Equal(field, Assert.Single(errors).Field);
    }

    [Theory]
    [InlineData("directory_id", """{"directory_id": 12}""", "12")]
    [InlineData("extra_metadata.dataset", """{"extra_metadata": {"dataset": "cats"}}""", "\"cats\"")]
    [InlineData("extra_metadata.dataset", """{"extra_metadata": null}""", "null")]
    [InlineData("file_id", """{}""", "null")]
    public void KeyOf_PathIntoTheEvent_IsTheValuesJsonText(string key, string ev, string expected)
    {
        var config = Config($$"""{"mode": "throttle", "key": "{{key}}", "period": 1}""");

        Assert.Equal(expected, config.KeyOf(JsonNode.Parse(ev)));
    }
}
