using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;

namespace Actionflow.Core.Tests.Scheduling;

public sealed class WindowFoldTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private static WindowConfig Window(string json) => WindowConfig.Parse(JsonNode.Parse(json), out _)!;

    private static (long, DateTimeOffset)[] Arrivals(params (long Id, double Seconds)[] events) => [.. events.Select(e => (e.Id, T0.AddSeconds(e.Seconds)))];

    [Fact]
    public void Fold_BatchReachesMaxEvents_OneRunOfTheMembersOpenedAtTheFirstClosedAtTheLast()
    {
        var window = Window("""{"mode": "batch", "key": "directory_id", "max_events": 3, "max_wait": "1m"}""");

        var fold = WindowFold.Fold(window, null, "5", Arrivals((1, 0), (2, 10), (3, 20), (4, 30)), T0.AddSeconds(30));

        var run = Assert.Single(fold.Runs);
        Assert.Equal([1L, 2, 3], run.Members);
        Assert.Equal((T0, T0.AddSeconds(20), "max_events"), (run.OpenedAt, run.ClosedAt, run.Reason));
        Assert.Equal([4L], fold.State!.Members);
        Assert.Equal(T0.AddSeconds(90), fold.State.CloseAt);
    }

    [Fact]
    public void Fold_EventAfterTheWindowWasDue_ClosesItByTimeThenOpensTheNext()
    {
        var window = Window("""{"mode": "batch", "key": "directory_id", "max_events": 10, "max_wait": "1m"}""");
        var open = WindowFold.Fold(window, null, "5", Arrivals((1, 0), (2, 5)), T0.AddSeconds(5)).State;

        var fold = WindowFold.Fold(window, open, "5", Arrivals((3, 75)), T0.AddSeconds(75));

        var run = Assert.Single(fold.Runs);
        Assert.Equal([1L, 2], run.Members);
        Assert.Equal(("max_wait", T0), (run.Reason, run.OpenedAt));
        Assert.Equal([3L], fold.State!.Members);
    }

    [Fact]
    public void Fold_TheClockPassesTheCloseTime_ClosesWithNoNewEvent()
    {
        var window = Window("""{"mode": "batch", "key": "directory_id", "max_wait": "1m"}""");

        var fold = WindowFold.Fold(window, null, "5", Arrivals((1, 0), (2, 30)), T0.AddSeconds(60));

        var run = Assert.Single(fold.Runs);
        Assert.Equal([1L, 2], run.Members);
        Assert.Equal(("max_wait", T0.AddSeconds(60)), (run.Reason, run.ClosedAt));
        Assert.Null(fold.State);
    }

    [Theory]
    [InlineData(40, "quiet")]
    [InlineData(100, "max_wait")]
    public void Fold_Debounce_RunsWithTheLastEventAfterQuietOrAtMaxWait(double now, string reason)
    {
        var window = Window("""{"mode": "debounce", "key": "directory_id", "quiet": "30s", "max_wait": "90s"}""");
        // Events every 10 s for 80 s then quiet: with 30 s quiet the last (at 80 s) closes at 90 s = max_wait anyway,
        // so a quiet close is seen with a shorter burst.
        var events = reason == "quiet" ? Arrivals((1, 0), (2, 5)) : Arrivals((1, 0), (2, 20), (3, 40), (4, 60), (5, 80));

        var fold = WindowFold.Fold(window, null, "5", events, T0.AddSeconds(now));

        var run = Assert.Single(fold.Runs);
        Assert.Equal([events[^1].Item1], run.Members);
        Assert.Equal(reason, run.Reason);
        Assert.Equal(events.Length - 1, fold.Skipped.Count);
        Assert.All(fold.Skipped, s => Assert.StartsWith("debounced: superseded by event", s.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Fold_Throttle_TheFirstRunsTheRestAreSkippedUntilThePeriodEnds()
    {
        var window = Window("""{"mode": "throttle", "key": "directory_id", "period": "1m"}""");

        var fold = WindowFold.Fold(window, null, "5", Arrivals((1, 0), (2, 10), (3, 59), (4, 60)), T0.AddSeconds(61));

        Assert.Equal([[1L], [4L]], fold.Runs.Select(r => r.Members.ToArray()));
        Assert.All(fold.Runs, r => Assert.Equal("throttle", r.Reason));
        Assert.Equal([2L, 3], fold.Skipped.Select(s => s.EventId));
        Assert.Equal(T0.AddSeconds(120), fold.State!.CloseAt);
    }

    [Fact]
    public void RunEvent_ManyMembers_CopiesTheLastMemberAndCarriesEveryIdAndTheFirstHundredPayloads()
    {
        var window = Window("""{"mode": "batch", "key": "extra_metadata.dataset", "max_events": 150}""");
        var members = Enumerable.Range(1, 150).Select(i => new Event
        {
            Id = i, ProjectId = 7, Kind = "input_file_uploaded", FileId = 1000 + i, DirectoryId = 9,
            ExtraMetadata = new JsonObject { ["dataset"] = "cats", ["n"] = i }, Source = EventSources.Amqp,
            Payload = [],
        }).ToList();
        var run = new WindowRun([.. members.Select(m => m.Id)], T0, T0.AddSeconds(3), "max_events");

        var ev = WindowFold.RunEvent(window, 11, "\"cats\"", run, members, T0.UtcDateTime.AddSeconds(3));

        Assert.Equal(("input_file_uploaded", (long?)1150, (long?)9, EventSources.Window, 150), (ev.Kind, ev.FileId, ev.DirectoryId, ev.Source, (int)ev.ExtraMetadata["n"]!));
        var info = ev.ExtraMetadata["window"]!;
        Assert.Equal(("batch", "extra_metadata.dataset", "cats", 150, "max_events", true),
            ((string?)info["mode"], (string?)info["key"], (string?)info["value"], (int)info["count"]!, (string?)info["reason"], (bool)info["events_truncated"]!));
        Assert.Equal(150, info["event_ids"]!.AsArray().Count);
        Assert.Equal(WindowFold.MaxPayloads, info["events"]!.AsArray().Count);
        Assert.Equal(1001, (long)info["events"]![0]!["file_id"]!);
        Assert.Equal(ev.DedupKey, WindowFold.RunEvent(window, 11, "\"cats\"", run, members, T0.UtcDateTime).DedupKey);
        Assert.StartsWith("window:11:1:", ev.DedupKey, StringComparison.Ordinal);
    }
}
