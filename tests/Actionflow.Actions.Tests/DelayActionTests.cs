using System.Text.Json.Nodes;
using Actionflow.Actions.Delay;
using Actionflow.Core.Domain;
using Actionflow.Sdk;
using Actionflow.Sdk.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Actionflow.Actions.Tests;

public sealed class DelayActionTests
{
    private static readonly DateTime Now = new(2026, 3, 29, 0, 30, 0, DateTimeKind.Utc);

    private static ActionTester<DelayAction> Tester() =>
        new(s => s.AddSingleton<TimeProvider>(new FakeTimeProvider(new DateTimeOffset(Now))));

    private static TestEvent Event(JsonObject? extra = null) => new() { TimeCreated = Now, FileId = 5, ExtraMetadata = extra ?? new JsonObject { ["dataset"] = "cats" } };

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("1d", 86400)]
    [InlineData("500ms", 0.5)]
    public async Task RunAsync_Duration_WaitsThatLongThenSucceedsWithTheEventsMetadata(string duration, double seconds)
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(new DelayConfig { Duration = duration }, Event());

        Assert.Equal(ActionRunStatus.Waiting, result.Status);
        Assert.Equal(Now.AddSeconds(seconds), result.SucceedsAt);
        Assert.Null(result.Emitted);
        Assert.Equal("cats", (string?)result.Output["dataset"]);
        Assert.Equal(Now.AddSeconds(seconds), DateTime.Parse((string)result.Output["delayed_until"]!, null, System.Globalization.DateTimeStyles.RoundtripKind));
    }

    [Theory]
    [InlineData("2026-03-29T03:30:00+02:00", null, 3600)]
    [InlineData("2026-03-29T00:45:00Z", "10m", 25 * 60)]
    public async Task RunAsync_UntilAPathIntoTheEvent_WaitsUntilThatTimePlusTheDuration(string dueAt, string? duration, int seconds)
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(new DelayConfig { Until = "extra_metadata.due_at", Duration = duration }, Event(new JsonObject { ["due_at"] = dueAt }));

        Assert.Equal(ActionRunStatus.Waiting, result.Status);
        Assert.Equal(Now.AddSeconds(seconds), result.SucceedsAt);
    }

    [Fact]
    public async Task RunAsync_UntilUnixSeconds_WaitsUntilThen()
    {
        await using var tester = Tester();
        var at = new DateTimeOffset(Now).AddMinutes(3).ToUnixTimeSeconds();

        var result = await tester.RunAsync(new DelayConfig { Until = "extra_metadata.at" }, Event(new JsonObject { ["at"] = at }));

        Assert.Equal(Now.AddMinutes(3), result.SucceedsAt);
    }

    [Fact]
    public async Task RunAsync_UntilATimeThatHasPassed_SucceedsAtOnceAndEmitsActionCompleted()
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(new DelayConfig { Until = "extra_metadata.due_at" }, Event(new JsonObject { ["due_at"] = "2026-03-28T00:00:00Z", ["dataset"] = "dogs" }));

        Assert.True(result.Succeeded);
        Assert.Null(result.SucceedsAt);
        Assert.Equal(EventKinds.ActionCompleted, result.CompletionEvent);
        Assert.Equal("dogs", (string?)result.Emitted!.ExtraMetadata["dataset"]);
        Assert.Equal(5, result.Emitted.FileId);
    }

    [Theory]
    [InlineData(null, null, "needs duration")]
    [InlineData(null, "extra_metadata.missing", "no value at 'extra_metadata.missing'")]
    [InlineData(null, "extra_metadata.dataset", "is not a time")]
    [InlineData("400d", null, "at most 366 days")]
    [InlineData("soon", null, "not a duration")]
    public async Task RunAsync_ConfigOrEventThatNamesNoTime_FailsWithTheReason(string? duration, string? until, string reason)
    {
        await using var tester = Tester();

        var result = await tester.RunAsync(new JsonObject { ["duration"] = duration, ["until"] = until }, Event());

        Assert.Equal(ActionRunStatus.Failed, result.Status);
        Assert.Contains(reason, result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_DurationAndUntil_ArePatternCheckedInTheConfigSchema()
    {
        await using var tester = Tester();

        var properties = tester.Template.ConfigSchema["properties"]!;

        Assert.Equal(Core.Scheduling.Durations.Pattern, (string?)properties["duration"]!["pattern"]);
        Assert.Equal(DelayAction.PathPattern, (string?)properties["until"]!["pattern"]);
    }
}
