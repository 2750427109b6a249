using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Scheduling;
using Actionflow.Sdk;
using Actionflow.Storage.Stores;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>Waiting runs, schedules and windows in the database, on both providers.</summary>
public abstract class TimeStoreTests(IDatabaseHost host) : StorageTestBase(host)
{
    private static readonly TimeSpan Threshold = TimeSpan.FromMinutes(1);

    private IScheduleStore Schedules => Db.Get<IScheduleStore>();

    private IWindowStore Windows => Db.Get<IWindowStore>();

    // ---- waiting runs ----

    [Fact]
    public async Task CompleteRunAsync_Waiting_RunWaitsUntilItsTimeWithATriggerHiddenUntilThen()
    {
        var (run, until) = await WaitingRunAsync();

        await using var db = await Db.ContextAsync();
        var stored = await db.ActionRuns.AsNoTracking().SingleAsync();
        Assert.Equal((ActionRunStatus.Waiting, until, until, (DateTime?)null, 1), (stored.Status, stored.NextAttemptAt, stored.WaitedUntil, stored.LeaseUntil, stored.Attempt));
        Assert.Null(stored.FinishedAt);
        Assert.Equal("later", (string?)stored.Output!["delayed_until"]);
        var row = await db.OutboxMessages.AsNoTracking().SingleAsync();
        Assert.Equal(until, row.AvailableAt);
        Assert.Equal(new TriggerMessage(run.EventId, run.ActionId, 1, run.Id), TriggerMessage.TryParse(row.Body, out _));
        Assert.Equal(until, await Outbox.NextDueAsync(T0, default));
        Assert.Null(await Outbox.NextDueAsync(until, default));
    }

    [Fact]
    public async Task ClaimAsync_WaitingRun_NotDueBeforeItsTimeThenResumesWithTheSameAttemptAndItsOutput()
    {
        var (run, until) = await WaitingRunAsync();
        var ev = (await Pipeline.FindEventAsync(run.EventId, default))!;

        var early = await Pipeline.ClaimRunAsync(ClaimRequest(ev, run.ActionId, run.WorkflowId, "w2", until.AddSeconds(-5)), default);
        var due = await Pipeline.TryClaimPendingRunAsync(new PendingClaim(run.EventId, run.ActionId, run.Id, "w2", until, until.AddSeconds(15)), default);

        Assert.Equal(RunClaimState.NotDue, early.State);
        Assert.NotNull(due);
        Assert.Equal((ActionRunStatus.Running, 1, "w2", (DateTime?)until), (due.Run.Status, due.Run.Attempt, due.Run.WorkerId, due.Run.WaitedUntil));
        Assert.Equal("later", (string?)due.Run.Output!["delayed_until"]);
    }

    [Fact]
    public async Task CancelWorkflowRunAsync_WaitingRun_EndsTheWait()
    {
        var (run, until) = await WaitingRunAsync();

        var canceled = await Db.Get<IRunControl>().CancelWorkflowRunAsync(1, run.WorkflowRunId, "no longer needed", T0.AddSeconds(5), default);

        Assert.Equal((RunControlOutcome.Done, 1), (canceled.Outcome, canceled.Changed));
        var late = await Pipeline.TryClaimPendingRunAsync(new PendingClaim(run.EventId, run.ActionId, run.Id, "w2", until, until.AddSeconds(15)), default);
        Assert.Null(late);
        await using var db = await Db.ContextAsync();
        Assert.Equal(ActionRunStatus.Canceled, (await db.ActionRuns.AsNoTracking().SingleAsync()).Status);
    }

    private async Task<(ActionRun Run, DateTime Until)> WaitingRunAsync()
    {
        var flow = await SeedWorkflowAsync(1, steps: new Step(0, Kind: "delay"));
        var lease = new StepLease("w1", T0, T0.AddSeconds(15));
        var run = Assert.Single((await Pipeline.AcceptEventAsync(NewEvent(1), [flow.StepAt(0) with { HeldBy = lease }], default)).HeldRuns);
        var until = T0.AddMinutes(10);
        var attempt = new ActionRunAttempt { Attempt = 1, StartedAt = T0, FinishedAt = T0, Status = ActionRunStatus.Waiting, WorkerId = "w1", NextAttemptAt = until };
        var recorded = await Pipeline.CompleteRunAsync(
            new RunCompletion(run.Id, "w1", ActionRunStatus.Waiting, new JsonObject { ["delayed_until"] = "later" }, null, null, T0, null, until, attempt), null, [], default);
        Assert.True(recorded.Recorded);
        return (run, until);
    }

    // ---- schedules ----

    [Fact]
    public async Task SyncAsync_ActiveWorkflowWithATimeTriggerStep_SchedulesItsNextTickAndKeepsItAcrossUnrelatedEdits()
    {
        var (workflowId, actionId) = await ScheduledWorkflowAsync("*/10 * * * * *", zone: "Europe/Berlin");

        var schedule = await ScheduleAsync(actionId);
        Assert.Equal((workflowId, "*/10 * * * * *", "Europe/Berlin", "once", T0.AddSeconds(10)), (schedule!.WorkflowId, schedule.CronExpression, schedule.TimeZone, schedule.CatchUp, schedule.NextDueAt));

        await EditAsync(workflowId, a => a.PublicName = "renamed", T0.AddSeconds(3));
        Assert.Equal(T0.AddSeconds(10), (await ScheduleAsync(actionId))!.NextDueAt);

        await EditAsync(workflowId, a => a.TriggerData["cron_expression"] = "0 0 * * * *", T0.AddSeconds(4));
        Assert.Equal(T0.AddHours(1), (await ScheduleAsync(actionId))!.NextDueAt);

        await EditAsync(workflowId, a => a.TriggerData["catch_up"] = "all", T0.AddSeconds(5));
        Assert.Equal(("all", T0.AddHours(1)), ((await ScheduleAsync(actionId))!.CatchUp, (await ScheduleAsync(actionId))!.NextDueAt));
    }

    [Theory]
    [InlineData("deactivate")]
    [InlineData("archive")]
    [InlineData("other trigger")]
    [InlineData("step inactive")]
    public async Task SyncAsync_WorkflowOrStepNoLongerScheduled_RemovesTheSchedule(string change)
    {
        var (workflowId, actionId) = await ScheduledWorkflowAsync("* * * * *");
        Assert.NotNull(await ScheduleAsync(actionId));

        await using (var db = await Db.ContextAsync())
        {
            var workflow = await db.Workflows.SingleAsync(w => w.Id == workflowId);
            var action = await db.Actions.SingleAsync(a => a.Id == actionId);
            _ = change switch
            {
                "deactivate" => workflow.Active = false,
                "archive" => workflow.Archived = true,
                "other trigger" => (action.TriggerData = new JsonObject { ["event_name"] = "manual_trigger" }) is not null,
                _ => action.Active = false,
            };
            await SaveAndSyncAsync(db, workflowId, T0.AddSeconds(1));
        }

        Assert.Null(await ScheduleAsync(actionId));
    }

    [Fact]
    public async Task FireDueAsync_DueSchedule_CommitsItsEventRunTriggerAndNextDueTogether()
    {
        var (workflowId, actionId) = await ScheduledWorkflowAsync("*/10 * * * * *");
        var firedAt = T0.AddSeconds(10.3);

        var pass = await Schedules.FireDueAsync(firedAt, 10, s => ScheduleFires.Plan(s, firedAt, Threshold), default);

        var fired = Assert.Single(pass.Fired);
        Assert.Equal((actionId, T0.AddSeconds(10), firedAt, 1), (fired.ActionId, fired.ScheduledAt, fired.FiredAt, fired.Ticks));
        await using var db = await Db.ContextAsync();
        var ev = await db.Events.AsNoTracking().SingleAsync();
        Assert.Equal((EventKinds.TimeTrigger, (long?)workflowId, (long?)actionId, EventSources.Scheduler, fired.EventId), (ev.Kind, ev.WorkflowId, ev.ActionId, ev.Source, ev.Id));
        Assert.Equal(("2025-03-01T12:00:10.0000000Z", "2025-03-01T12:00:10.3000000Z"),
            ((string?)ev.ExtraMetadata[ScheduleFires.ScheduledAtKey], (string?)ev.ExtraMetadata[ScheduleFires.FiredAtKey]));
        var run = await db.ActionRuns.AsNoTracking().SingleAsync();
        Assert.Equal((actionId, ev.Id, ActionRunStatus.Pending), (run.ActionId, run.EventId, run.Status));
        Assert.Equal(new TriggerMessage(ev.Id, actionId, 1, run.Id), TriggerMessage.TryParse((await db.OutboxMessages.AsNoTracking().SingleAsync()).Body, out _));
        var schedule = await db.Schedules.AsNoTracking().SingleAsync();
        Assert.Equal((T0.AddSeconds(20), T0.AddSeconds(10), firedAt, (long?)ev.Id), (schedule.NextDueAt, schedule.LastScheduledAt, schedule.LastFiredAt, schedule.LastEventId));
        Assert.Equal(T0.AddSeconds(20), await Schedules.NextDueAsync(default));
    }

    [Fact]
    public async Task FireDueAsync_NotDueYet_ClaimsNothing()
    {
        await ScheduledWorkflowAsync("*/10 * * * * *");

        var pass = await Schedules.FireDueAsync(T0.AddSeconds(9), 10, s => ScheduleFires.Plan(s, T0.AddSeconds(9), Threshold), default);

        Assert.Equal(0, pass.Claimed);
        await using var db = await Db.ContextAsync();
        Assert.Equal(0, await db.Events.CountAsync());
    }

    [Fact]
    public async Task FireDueAsync_AfterDowntimeUnderOnce_OneFireStandsForEveryMissedTick()
    {
        var (_, actionId) = await ScheduledWorkflowAsync("* * * * *");
        var now = T0.AddMinutes(30).AddSeconds(5);

        var pass = await Schedules.FireDueAsync(now, 10, s => ScheduleFires.Plan(s, now, Threshold), default);

        // 12:01 ... 12:29 were missed (29 ticks, one fire standing for them), 12:30 is on time.
        Assert.Equal([(T0.AddMinutes(29), 29), (T0.AddMinutes(30), 1)], pass.Fired.Select(f => (f.ScheduledAt, f.Ticks)));
        await using var db = await Db.ContextAsync();
        var events = await db.Events.AsNoTracking().OrderBy(e => e.Id).ToListAsync();
        Assert.Equal(29, (int)events[0].ExtraMetadata["ticks"]!);
        Assert.Equal(T0.AddMinutes(31), (await db.Schedules.AsNoTracking().SingleAsync(s => s.ActionId == actionId)).NextDueAt);
    }

    [Fact]
    public async Task FireDueAsync_TwoWorkersRacingEveryTick_FireEachTickExactlyOnce()
    {
        await ScheduledWorkflowAsync("* * * * * *");
        await using var other = await TestDatabase.BuildAndMigrateAsync(new StorageOptions { ConnectionString = Db.ConnectionString });
        var second = new ScheduleStore(other.GetRequiredService<IDbContextFactory<ActionflowDbContext>>(), Provider);

        for (var tick = 1; tick <= 20; tick++)
        {
            var now = T0.AddSeconds(tick).AddMilliseconds(200);
            await Task.WhenAll(
                Schedules.FireDueAsync(now, 10, s => ScheduleFires.Plan(s, now, Threshold), default),
                second.FireDueAsync(now, 10, s => ScheduleFires.Plan(s, now, Threshold), default));
        }

        await using var db = await Db.ContextAsync();
        var events = await db.Events.AsNoTracking().ToListAsync();
        var scheduled = events.Select(e => (string)e.ExtraMetadata[ScheduleFires.ScheduledAtKey]!).ToList();
        Assert.Equal(20, scheduled.Count);
        Assert.Equal(20, scheduled.Distinct().Count());
        Assert.Equal(20, await db.ActionRuns.CountAsync());
    }

    private async Task<(long WorkflowId, long ActionId)> ScheduledWorkflowAsync(string cron, string? zone = null, bool active = true)
    {
        await using var db = await Db.ContextAsync();
        var workflow = new Workflow { ProjectId = 1, Name = "scheduled", Active = active, TimeCreated = T0, TimeUpdated = T0 };
        db.Workflows.Add(workflow);
        await db.SaveChangesAsync();
        var trigger = new JsonObject { ["event_name"] = EventKinds.TimeTrigger, ["cron_expression"] = cron };
        if (zone is not null)
        {
            trigger["time_zone"] = zone;
        }

        var action = new WorkflowAction { ProjectId = 1, WorkflowId = workflow.Id, Kind = "noop", Ordinal = 0, TriggerData = trigger, TimeCreated = T0, TimeUpdated = T0 };
        db.Actions.Add(action);
        await SaveAndSyncAsync(db, workflow.Id, T0);
        return (workflow.Id, action.Id);
    }

    private async Task EditAsync(long workflowId, Action<WorkflowAction> edit, DateTime now)
    {
        await using var db = await Db.ContextAsync();
        var action = await db.Actions.SingleAsync(a => a.WorkflowId == workflowId);
        edit(action);
        db.Entry(action).Property(a => a.TriggerData).IsModified = true;
        await SaveAndSyncAsync(db, workflowId, now);
    }

    private static async Task SaveAndSyncAsync(ActionflowDbContext db, long workflowId, DateTime now)
    {
        await using var transaction = await db.Database.BeginTransactionAsync();
        await db.SaveChangesAsync();
        await ScheduleSync.SyncAsync(db, workflowId, now, default);
        await transaction.CommitAsync();
    }

    private async Task<Schedule?> ScheduleAsync(long actionId)
    {
        await using var db = await Db.ContextAsync();
        return await db.Schedules.AsNoTracking().SingleOrDefaultAsync(s => s.ActionId == actionId);
    }

    // ---- windows ----

    [Fact]
    public async Task AcceptEventAsync_WindowedStep_RecordsAWindowEntryInsteadOfARun()
    {
        var step = new MatchedStep(7, 3, "noop") { WindowKey = "\"cats\"" };

        var (ev, inserted) = await Pipeline.AcceptEventAsync(NewEvent(1), [step, new MatchedStep(8, 3, "noop")], default);

        Assert.True(inserted);
        await using var db = await Db.ContextAsync();
        var entry = await db.WindowEntries.AsNoTracking().SingleAsync();
        Assert.Equal((7L, 1L, "\"cats\"", ev.Id, T0), (entry.ActionId, entry.ProjectId, entry.WindowKey, entry.EventId, entry.TimeCreated));
        Assert.Equal(8, (await db.ActionRuns.AsNoTracking().SingleAsync()).ActionId);
        Assert.Equal(1, await db.WorkflowRuns.CountAsync());
    }

    [Fact]
    public async Task CompleteRunAsync_NextStepWindowed_RecordsItsEntryWithTheEmittedEvent()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1, "action_completed")]);
        var lease = new StepLease("w1", T0, T0.AddSeconds(15));
        var run = Assert.Single((await Pipeline.AcceptEventAsync(NewEvent(1), [flow.StepAt(0) with { HeldBy = lease }], default)).HeldRuns);
        var emitted = NewEvent(1, kind: "action_completed", workflowRunId: run.WorkflowRunId);

        await Pipeline.CompleteRunAsync(new RunCompletion(run.Id, "w1", ActionRunStatus.Succeeded, null, null, null, T0, WorkflowRunStatus.Succeeded), emitted,
            [flow.StepAt(1) with { WindowKey = "12" }], default);

        await using var db = await Db.ContextAsync();
        var entry = await db.WindowEntries.AsNoTracking().SingleAsync();
        Assert.Equal((flow.ActionIds[1], emitted.Id, "12"), (entry.ActionId, entry.EventId, entry.WindowKey));
        Assert.Equal(1, await db.ActionRuns.CountAsync());
    }

    [Fact]
    public async Task ProcessAsync_BatchOfThree_SevenEventsCloseTwoWindowsOfThreeAndKeepOneOpen()
    {
        var window = Window("""{"mode": "batch", "key": "extra_metadata.dataset", "max_events": 3, "max_wait": "1h"}""");
        var events = await WindowedEventsAsync(7, "\"cats\"");

        var pass = await Windows.ProcessAsync(T0.AddSeconds(1), 64, Stepped(window), default);

        Assert.Equal((1, 7, 2, 0), (pass.Keys, pass.Entries, pass.Runs, pass.Skipped));
        await using var db = await Db.ContextAsync();
        var runEvents = await db.Events.AsNoTracking().Where(e => e.Source == EventSources.Window).OrderBy(e => e.Id).ToListAsync();
        Assert.Equal([events[..3], events[3..6]], runEvents.Select(e => e.ExtraMetadata["window"]!["event_ids"]!.AsArray().Select(id => (long)id!).ToArray()));
        Assert.All(runEvents, e =>
        {
            Assert.Equal(("input_file_uploaded", "max_events", 3, "cats"), (e.Kind, (string?)e.ExtraMetadata["window"]!["reason"], (int)e.ExtraMetadata["window"]!["count"]!, (string?)e.ExtraMetadata["window"]!["value"]));
            Assert.Equal(3, e.ExtraMetadata["window"]!["events"]!.AsArray().Count);
        });
        var runs = await db.ActionRuns.AsNoTracking().OrderBy(r => r.Id).ToListAsync();
        Assert.Equal(runEvents.Select(e => e.Id), runs.Select(r => r.EventId));
        Assert.All(runs, r => Assert.Equal((7L, ActionRunStatus.Pending), (r.ActionId, r.Status)));
        Assert.Equal(2, await db.OutboxMessages.CountAsync());
        Assert.Empty(await db.WindowEntries.AsNoTracking().ToListAsync());
        var open = await db.Windows.AsNoTracking().SingleAsync();
        Assert.Equal((1, $"[{events[6]}]", T0.AddHours(1)), (open.EventCount, open.Members, open.CloseAt));
        Assert.Equal(T0.AddHours(1), await Windows.NextCloseAsync(default));

        var closed = await Windows.ProcessAsync(T0.AddHours(1), 64, Stepped(window), default);

        Assert.Equal(1, closed.Runs);
        await using var after = await Db.ContextAsync();
        Assert.Empty(await after.Windows.AsNoTracking().ToListAsync());
        var last = await after.Events.AsNoTracking().Where(e => e.Source == EventSources.Window).OrderByDescending(e => e.Id).FirstAsync();
        Assert.Equal("max_wait", (string?)last.ExtraMetadata["window"]!["reason"]);
    }

    [Fact]
    public async Task ProcessAsync_Debounce_RunsOnceWithTheLastEventAfterTheQuietTimeAndSkipsTheOthers()
    {
        var window = Window("""{"mode": "debounce", "key": "extra_metadata.dataset", "quiet": "30s"}""");
        var events = await WindowedEventsAsync(3, "\"cats\"");

        var folded = await Windows.ProcessAsync(T0.AddSeconds(1), 64, Stepped(window), default);
        var quiet = await Windows.ProcessAsync(T0.AddSeconds(30), 64, Stepped(window), default);

        Assert.Equal((0, 2), (folded.Runs, folded.Skipped));
        Assert.Equal(1, quiet.Runs);
        await using var db = await Db.ContextAsync();
        var runEvent = await db.Events.AsNoTracking().SingleAsync(e => e.Source == EventSources.Window);
        Assert.Equal([events[2]], runEvent.ExtraMetadata["window"]!["event_ids"]!.AsArray().Select(id => (long)id!));
        Assert.Equal("quiet", (string?)runEvent.ExtraMetadata["window"]!["reason"]);
        var skipped = await db.ActionRuns.AsNoTracking().Where(r => r.Status == ActionRunStatus.Skipped).OrderBy(r => r.EventId).ToListAsync();
        Assert.Equal([events[0], events[1]], skipped.Select(r => r.EventId));
        Assert.All(skipped, r => Assert.StartsWith("debounced: superseded by event", r.ErrorReason, StringComparison.Ordinal));
        Assert.All(await db.WorkflowRuns.AsNoTracking().Where(w => skipped.Select(r => r.WorkflowRunId).Contains(w.Id)).ToListAsync(),
            w => Assert.Equal(WorkflowRunStatus.Skipped, w.Status));
    }

    [Fact]
    public async Task ProcessAsync_Throttle_RunsTheFirstEventAndRecordsTheOthersSkippedWithTheReason()
    {
        var window = Window("""{"mode": "throttle", "key": "extra_metadata.dataset", "period": "1h"}""");
        var events = await WindowedEventsAsync(3, "\"cats\"");

        var pass = await Windows.ProcessAsync(T0.AddSeconds(1), 64, Stepped(window), default);

        Assert.Equal((1, 2), (pass.Runs, pass.Skipped));
        await using var db = await Db.ContextAsync();
        var runEvent = await db.Events.AsNoTracking().SingleAsync(e => e.Source == EventSources.Window);
        Assert.Equal(events[0], (long)runEvent.ExtraMetadata["window"]!["event_ids"]![0]!);
        var skipped = await db.ActionRuns.AsNoTracking().Where(r => r.Status == ActionRunStatus.Skipped).ToListAsync();
        Assert.Equal(2, skipped.Count);
        Assert.All(skipped, r => Assert.StartsWith("throttled: key \"cats\" ran at", r.ErrorReason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProcessAsync_KeysApart_EachKeyHasItsOwnWindow()
    {
        var window = Window("""{"mode": "batch", "key": "extra_metadata.dataset", "max_events": 2}""");
        await WindowedEventsAsync(3, "\"cats\"");
        await WindowedEventsAsync(3, "\"dogs\"");

        var pass = await Windows.ProcessAsync(T0.AddSeconds(1), 64, Stepped(window), default);

        Assert.Equal((2, 2), (pass.Keys, pass.Runs));
        await using var db = await Db.ContextAsync();
        Assert.Equal(["\"cats\"", "\"dogs\""], (await db.Windows.AsNoTracking().ToListAsync()).Select(w => w.WindowKey).Order());
        // A batch with max_events only never closes by time.
        Assert.Null(await Windows.NextCloseAsync(default));
    }

    [Fact]
    public async Task ProcessAsync_TwoWorkersRacing_EveryEventLandsInExactlyOneRun()
    {
        var window = Window("""{"mode": "batch", "key": "extra_metadata.dataset", "max_events": 10}""");
        await using var other = await TestDatabase.BuildAndMigrateAsync(new StorageOptions { ConnectionString = Db.ConnectionString });
        var second = new WindowStore(other.GetRequiredService<IDbContextFactory<ActionflowDbContext>>(), Provider, Microsoft.Extensions.Logging.Abstractions.NullLogger<WindowStore>.Instance);
        var all = new List<long>();
        for (var round = 0; round < 10; round++)
        {
            all.AddRange(await WindowedEventsAsync(5, "\"cats\""));
            all.AddRange(await WindowedEventsAsync(5, "\"dogs\""));
            await Task.WhenAll(
                Safely(() => Windows.ProcessAsync(T0.AddSeconds(1), 64, Stepped(window), default)),
                Safely(() => second.ProcessAsync(T0.AddSeconds(1), 64, Stepped(window), default)));
        }

        while ((await Windows.ProcessAsync(T0.AddSeconds(1), 64, Stepped(window), default)).Keys > 0)
        {
        }

        await using var db = await Db.ContextAsync();
        var members = (await db.Events.AsNoTracking().Where(e => e.Source == EventSources.Window).ToListAsync())
            .SelectMany(e => e.ExtraMetadata["window"]!["event_ids"]!.AsArray().Select(id => (long)id!)).ToList();
        Assert.Equal(10, await db.ActionRuns.CountAsync());
        Assert.Equal(all.Order(), members.Order());
        Assert.Empty(await db.WindowEntries.AsNoTracking().ToListAsync());

        // A pass that lost a race to the other worker rolls back as a whole and is simply tried again.
        static async Task Safely(Func<Task<WindowPass>> pass)
        {
            try
            {
                await pass();
            }
            catch (DbUpdateException)
            {
            }
        }
    }

    [Fact]
    public async Task ProcessAsync_StepWithoutAWindowAnyMore_DropsItsEntriesOnlyAfterTheGrace()
    {
        await WindowedEventsAsync(2, "\"cats\"");

        var soon = await Windows.ProcessAsync(T0.AddSeconds(5), 64, _ => null, default);
        var later = await Windows.ProcessAsync(T0 + WindowStore.DropGrace + TimeSpan.FromSeconds(1), 64, _ => null, default);

        Assert.Equal((0, 0), (soon.Keys, soon.Entries));
        Assert.Equal((1, 2, 0), (later.Keys, later.Entries, later.Runs));
        await using var db = await Db.ContextAsync();
        Assert.Equal(0, await db.ActionRuns.CountAsync());
    }

    private static WindowConfig Window(string json) => WindowConfig.Parse(JsonNode.Parse(json), out _)!;

    private static Func<long, WindowedStep?> Stepped(WindowConfig window) => id => id == 7 ? new WindowedStep(window, 3, "noop") : null;

    private async Task<long[]> WindowedEventsAsync(int count, string key)
    {
        var ids = new long[count];
        for (var i = 0; i < count; i++)
        {
            var ev = NewEvent(1);
            ev.ExtraMetadata["dataset"] = System.Text.Json.JsonSerializer.Deserialize<string>(key);
            ids[i] = (await Pipeline.AcceptEventAsync(ev, [new MatchedStep(7, 3, "noop") { WindowKey = key }], default)).Event.Id;
        }

        return ids;
    }
}

public sealed class TimeStoreSqliteTests(SqliteHost host) : TimeStoreTests(host), IClassFixture<SqliteHost>;

public sealed class TimeStorePostgresTests(PostgresHost host) : TimeStoreTests(host), IClassFixture<PostgresHost>;
