using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class PipelineStoreTests(IDatabaseHost host) : StorageTestBase(host)
{
    [Fact]
    public async Task AcceptEventAsync_NewEvent_InsertsEventAndOneTriggerPerMatchedAction()
    {
        var (saved, inserted) = await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "diffgram-1"), Steps(11, 12, 13), default);

        Assert.True(inserted);
        Assert.True(saved.Id > 0);
        var triggers = await OutboxTriggersAsync();
        Assert.Equal([11L, 12L, 13L], triggers.Select(t => t.ActionId).Order());
        Assert.All(triggers, t => Assert.Equal((saved.Id, 7L), (t.EventId, t.ProjectId)));
    }

    [Fact]
    public async Task AcceptEventAsync_StepsMarkedRunHere_RecordedRunningUnderTheLeaseWithoutTriggers()
    {
        var lease = new StepLease("w1", T0, T0.AddSeconds(15));
        var steps = Steps(11, 12, 13);

        var accepted = await Pipeline.AcceptEventAsync(NewEvent(7), [steps[0] with { HeldBy = lease }, steps[1], steps[2] with { HeldBy = lease }], default);

        Assert.True(accepted.Inserted);
        Assert.Equal([11L, 13L], accepted.HeldRuns.Select(r => r.ActionId).Order());
        Assert.All(accepted.HeldRuns, r => Assert.True(r.Id > 0));
        Assert.Equal([12L], (await OutboxTriggersAsync()).Select(t => t.ActionId));
        await using var db = await Db.ContextAsync();
        var runs = await db.ActionRuns.AsNoTracking().ToDictionaryAsync(r => r.ActionId);
        foreach (var held in new[] { 11L, 13L })
        {
            var run = runs[held];
            Assert.Equal((ActionRunStatus.Running, 1, "w1", T0, T0.AddSeconds(15)), (run.Status, run.Attempt, run.WorkerId, run.StartedAt, run.LeaseUntil));
            Assert.Equal(accepted.Event.Id, run.EventId);
        }

        Assert.Equal((ActionRunStatus.Pending, 0, (string?)null), (runs[12].Status, runs[12].Attempt, runs[12].WorkerId));
        Assert.Equal(runs[11].WorkflowRunId, accepted.HeldRuns.Single(r => r.ActionId == 11).WorkflowRunId);
    }

    [Fact]
    public async Task AcceptEventAsync_ManyEventsAllStepsHeld_EachRunInItsEventsWorkflowRun()
    {
        var lease = new StepLease("w1", T0, T0.AddSeconds(15));
        MatchedStep Held(long actionId, long workflowId) => new MatchedStep(actionId, workflowId, "webhook") with { HeldBy = lease };

        var accepted = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: $"h{i}"), [Held(11, 1), Held(12, 1), Held(13, 2)], default)));

        await using var db = await Db.ContextAsync();
        var workflowRuns = await db.WorkflowRuns.AsNoTracking().ToDictionaryAsync(w => w.Id);
        Assert.Equal(12, workflowRuns.Count);
        foreach (var a in accepted)
        {
            Assert.True(a.Inserted);
            var runs = a.HeldRuns.OrderBy(r => r.ActionId).ToList();
            Assert.Equal([11L, 12L, 13L], runs.Select(r => r.ActionId));
            Assert.All(runs, r => Assert.Equal(a.Event.Id, r.EventId));
            Assert.Equal(runs[0].WorkflowRunId, runs[1].WorkflowRunId);
            Assert.NotEqual(runs[0].WorkflowRunId, runs[2].WorkflowRunId);
            Assert.Equal((a.Event.Id, 1L), (workflowRuns[runs[0].WorkflowRunId].RootEventId, workflowRuns[runs[0].WorkflowRunId].WorkflowId));
            Assert.Equal((a.Event.Id, 2L), (workflowRuns[runs[2].WorkflowRunId].RootEventId, workflowRuns[runs[2].WorkflowRunId].WorkflowId));
        }

        var stored = await db.ActionRuns.AsNoTracking().ToListAsync();
        Assert.Equal(18, stored.Count);
        Assert.All(stored, r => Assert.Equal((ActionRunStatus.Running, 1, "w1"), (r.Status, r.Attempt, r.WorkerId)));
        Assert.Equal(accepted.SelectMany(a => a.HeldRuns).Select(r => (r.Id, r.WorkflowRunId)).Order(), stored.Select(r => (r.Id, r.WorkflowRunId)).Order());
        Assert.Empty(await OutboxTriggersAsync());
    }

    // The PostgreSQL writes keep their array parameters between batches: a batch must write its own rows and values only,
    // never a column left from the batch before (which had more rows and more values set).
    [Fact]
    public async Task AcceptEventAsync_AfterAWiderBatch_WritesOnlyItsOwnRowsAndValues()
    {
        var lease = new StepLease("w1", T0, T0.AddSeconds(15));
        var first = NewEvent(7, dedupKey: "wide");
        (first.Description, first.ErrorLog, first.MemberId, first.DirectoryId) = ("first", "log", 5, 9);
        var wide = await Pipeline.AcceptEventAsync(first, [.. Steps(11, 12, 13).Select(s => s with { HeldBy = lease })], default);
        var second = NewEvent(8, kind: "task_completed");
        second.FileId = null;

        var narrow = await Pipeline.AcceptEventAsync(second, [Steps(21)[0] with { HeldBy = lease with { WorkerId = "w2" } }], default);

        Assert.True(wide.Inserted && narrow.Inserted);
        await using var db = await Db.ContextAsync();
        var stored = await db.Events.AsNoTracking().SingleAsync(e => e.Id == narrow.Event.Id);
        Assert.Equal((8L, "task_completed", (string?)null, (string?)null, (long?)null, (long?)null, (long?)null, (string?)null),
            (stored.ProjectId, stored.Kind, stored.Description, stored.ErrorLog, stored.MemberId, stored.DirectoryId, stored.FileId, stored.DedupKey));
        var runs = await db.ActionRuns.AsNoTracking().Where(r => r.EventId == narrow.Event.Id).ToListAsync();
        Assert.Equal([(21L, "w2")], runs.Select(r => (r.ActionId, r.WorkerId!)));
        Assert.Equal(4, await db.ActionRuns.CountAsync());
        Assert.Equal(2, await db.WorkflowRuns.CountAsync());
        Assert.Equal(2, await db.Events.CountAsync());
    }

    [Fact]
    public async Task CompleteRunAsync_AfterACompletionWithOutputErrorAndEvent_WritesOnlyItsOwnValues()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1)]);
        var a = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        var b = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[1], flow.WorkflowId, "w2", T0), default);
        var emitted = NewEvent(1, kind: "action_completed");
        (emitted.Description, emitted.MemberId) = ("first", 5);
        await Pipeline.CompleteRunAsync(
            new RunCompletion(a.Run.Id, "w1", ActionRunStatus.Failed, new JsonObject { ["x"] = 1 }, "boom", "X", T0, null), emitted, [], default);
        var quiet = NewEvent(1, kind: "action_completed");
        quiet.FileId = null;

        var recorded = await Pipeline.CompleteRunAsync(
            new RunCompletion(b.Run.Id, "w2", ActionRunStatus.Succeeded, null, null, null, T0.AddSeconds(1), null), quiet, [], default);

        Assert.True(recorded.Recorded);
        await using var db = await Db.ContextAsync();
        var run = await db.ActionRuns.AsNoTracking().SingleAsync(r => r.Id == b.Run.Id);
        Assert.Equal((ActionRunStatus.Succeeded, (JsonObject?)null, (string?)null, (string?)null, (DateTime?)T0.AddSeconds(1)),
            (run.Status, run.Output, run.ErrorReason, run.ErrorType, run.FinishedAt));
        var stored = await db.Events.AsNoTracking().SingleAsync(e => e.Id == quiet.Id);
        Assert.Equal(((string?)null, (long?)null, (long?)null), (stored.Description, stored.MemberId, stored.FileId));
        Assert.Equal(3, await db.Events.CountAsync());
    }

    [Fact]
    public async Task AcceptEventAsync_DuplicateOfAnEventWithHeldRuns_HoldsNothingMore()
    {
        var lease = new StepLease("w1", T0, T0.AddSeconds(15));
        await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "k"), [Steps(11)[0] with { HeldBy = lease }], default);

        var again = await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "k"), [Steps(11)[0] with { HeldBy = lease with { WorkerId = "w2" } }], default);

        Assert.False(again.Inserted);
        Assert.Empty(again.HeldRuns);
        await using var db = await Db.ContextAsync();
        Assert.Equal("w1", (await db.ActionRuns.AsNoTracking().SingleAsync()).WorkerId);
    }

    [Fact]
    public async Task AcceptEventAsync_SameProjectAndDedupKey_ReturnsExistingAndWritesNothing()
    {
        var (first, _) = await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "diffgram-1"), Steps(11, 12), default);

        var (second, inserted) = await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "diffgram-1"), Steps(11, 12), default);

        Assert.False(inserted);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, (await OutboxTriggersAsync()).Count);
        await using var db = await Db.ContextAsync();
        Assert.Equal(1, await db.Events.CountAsync());
    }

    [Fact]
    public async Task AcceptEventAsync_SameDedupKeyInOtherProject_InsertsBoth()
    {
        var (first, _) = await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "k"), Steps(1), default);

        var (second, inserted) = await Pipeline.AcceptEventAsync(NewEvent(8, dedupKey: "k"), Steps(1), default);

        Assert.True(inserted);
        Assert.NotEqual(first.Id, second.Id);
    }

    [Fact]
    public async Task AcceptEventAsync_NoDedupKey_NeverDeduplicates()
    {
        await Pipeline.AcceptEventAsync(NewEvent(7), Steps(1), default);

        var (_, inserted) = await Pipeline.AcceptEventAsync(NewEvent(7), Steps(1), default);

        Assert.True(inserted);
        Assert.Equal(2, (await OutboxTriggersAsync()).Count);
    }

    [Fact]
    public async Task AcceptEventAsync_ConcurrentDeliveriesOfOneEvent_InsertExactlyOnce()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ =>
            Task.Run(() => Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "redelivered"), Steps(21, 22), default))));

        Assert.Single(results, r => r.Inserted);
        Assert.Single(results.Select(r => r.Event.Id).Distinct());
        Assert.Equal(2, (await OutboxTriggersAsync()).Count);
    }

    [Fact]
    public async Task AcceptEventAsync_MatchedSteps_RecordsPendingRunsInOneWorkflowRunPerWorkflow()
    {
        var (saved, _) = await Pipeline.AcceptEventAsync(NewEvent(7), [new MatchedStep(11, 100, "noop"), new MatchedStep(12, 100, "noop"), new MatchedStep(21, 200, "webhook")], default);

        await using var db = await Db.ContextAsync();
        var runs = await db.ActionRuns.AsNoTracking().OrderBy(r => r.ActionId).ToListAsync();
        Assert.Equal([11L, 12L, 21L], runs.Select(r => r.ActionId));
        Assert.All(runs, r => Assert.Equal((saved.Id, 7L, ActionRunStatus.Pending, 0), (r.EventId, r.ProjectId, r.Status, r.Attempt)));
        Assert.Equal(["noop", "noop", "webhook"], runs.Select(r => r.Kind));
        var workflowRuns = await db.WorkflowRuns.AsNoTracking().OrderBy(w => w.WorkflowId).ToListAsync();
        Assert.Equal([100L, 200L], workflowRuns.Select(w => w.WorkflowId));
        Assert.All(workflowRuns, w => Assert.Equal((saved.Id, WorkflowRunStatus.Running), (w.RootEventId, w.Status)));
        Assert.Equal(runs[0].WorkflowRunId, runs[1].WorkflowRunId);
        Assert.Equal(workflowRuns[1].Id, runs[2].WorkflowRunId);
    }

    [Fact]
    public async Task AcceptEventAsync_ManyConcurrentEvents_EachRecordedOnceWithItsOwnRunAndTrigger()
    {
        // Concurrent callers are committed together; a duplicate inside one batch must still be recognised.
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            Task.Run(() => Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: $"e{i % 150}"), Steps(5), default))));

        Assert.Equal(150, results.Count(r => r.Inserted));
        Assert.Equal(150, results.Select(r => r.Event.Id).Distinct().Count());
        Assert.All(results.Where(r => !r.Inserted), r => Assert.Contains(results, o => o.Inserted && o.Event.Id == r.Event.Id));
        await using var db = await Db.ContextAsync();
        Assert.Equal(150, await db.Events.CountAsync());
        Assert.Equal(150, await db.ActionRuns.CountAsync());
        var triggers = await OutboxTriggersAsync();
        Assert.Equal(150, triggers.Select(t => t.EventId).Distinct().Count());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TryClaimPendingRunAsync_PendingRun_ClaimsItOnceWithItsEvent(bool byRunId)
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "c"), Steps(5), default);
        var trigger = Assert.Single(await OutboxTriggersAsync());
        Assert.NotNull(trigger.RunId);
        var runId = byRunId ? trigger.RunId : null;
        PendingClaim Claim(long actionId, string worker, DateTime now) => new(ev.Id, actionId, runId, worker, now, now.AddMinutes(1));

        var claimed = await Pipeline.TryClaimPendingRunAsync(Claim(5, "w1", T0), default);
        var again = await Pipeline.TryClaimPendingRunAsync(Claim(5, "w2", T0), default);

        Assert.NotNull(claimed);
        Assert.Equal((trigger.RunId.Value, ActionRunStatus.Running, 1, "w1", T0.AddMinutes(1)), (claimed.Run.Id, claimed.Run.Status, claimed.Run.Attempt, claimed.Run.WorkerId, claimed.Run.LeaseUntil));
        Assert.Equal((ev.Id, 42L), (claimed.Event.Id, claimed.Event.FileId));
        Assert.Null(again);
        // The run id must belong to the event and action the trigger names.
        Assert.Null(await Pipeline.TryClaimPendingRunAsync(Claim(6, "w1", T0.AddMinutes(2)), default));
        // Once the lease has run out, another worker takes it over and the attempt is counted.
        var takeover = await Pipeline.TryClaimPendingRunAsync(Claim(5, "w2", T0.AddMinutes(2)), default);
        Assert.Equal(("w2", 2), (takeover!.Run.WorkerId, takeover.Run.Attempt));
    }

    [Fact]
    public async Task TryClaimPendingRunAsync_ManyConcurrentClaims_EachRunClaimedByExactlyOneCopy()
    {
        // 60 runs, each delivered twice at once: claims are batched, and a run must go to one copy only.
        var accepted = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: $"m{i}"), Steps(5, 6), default)));
        var triggers = await OutboxTriggersAsync();
        Assert.Equal(60, triggers.Count);

        var claims = await Task.WhenAll(triggers.Concat(triggers).Select((t, i) =>
            Task.Run(() => Pipeline.TryClaimPendingRunAsync(new PendingClaim(t.EventId, t.ActionId, t.RunId, i % 3 == 0 ? "w1" : "w2", T0, T0.AddMinutes(1)), default))));

        var won = claims.Where(c => c is not null).Select(c => c!).ToList();
        Assert.Equal(60, won.Count);
        Assert.Equal(60, won.Select(c => c.Run.Id).Distinct().Count());
        Assert.All(won, c => Assert.Equal(c.Run.EventId, c.Event.Id));
        Assert.Equal(accepted.Select(a => a.Event.Id).Order(), won.Select(c => c.Event.Id).Distinct().Order());
        await using var db = await Db.ContextAsync();
        Assert.Equal(60, await db.ActionRuns.CountAsync(r => r.Status == ActionRunStatus.Running && r.Attempt == 1));
    }

    [Fact]
    public async Task CompleteRunAsync_ManyConcurrentCompletions_OnlyHoldersEndTheirRunsEachWithItsOwnOutcome()
    {
        // Completions are committed together; one that lost its run must not take the others down, nor be written.
        var flow = await SeedWorkflowAsync(7, steps: [new Step(0), new Step(1, "action_completed")]);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: $"c{i}"), [flow.StepAt(0)], default)));
        var claimed = (await Task.WhenAll((await OutboxTriggersAsync()).Select(t =>
            Pipeline.TryClaimPendingRunAsync(new PendingClaim(t.EventId, t.ActionId, t.RunId, "w1", T0, T0.AddMinutes(1)), default)))).Select(c => c!).ToList();

        var ended = await Task.WhenAll(claimed.Select((c, i) => Task.Run(async () =>
        {
            var emitted = i % 2 == 0 ? NewEvent(7, kind: "action_completed", workflowRunId: c.Run.WorkflowRunId) : null;
            if (emitted is not null)
            {
                emitted.WorkflowId = flow.WorkflowId;
            }

            var completion = new RunCompletion(c.Run.Id, i % 4 == 3 ? "intruder" : "w1", i % 2 == 0 ? ActionRunStatus.Succeeded : ActionRunStatus.Failed,
                new JsonObject { ["i"] = i }, i % 2 == 0 ? null : $"boom {i}", null, T0.AddSeconds(i), i % 2 == 0 ? null : WorkflowRunStatus.Failed,
                Attempt: new ActionRunAttempt { Attempt = 1, StartedAt = T0, FinishedAt = T0.AddSeconds(i), Status = ActionRunStatus.Succeeded, WorkerId = "w1" });
            return (await Pipeline.CompleteRunAsync(completion, emitted, emitted is null ? [] : [flow.StepAt(1)], default)).Recorded;
        })));

        Assert.Equal(30, ended.Count(e => e));
        Assert.All(ended.Select((e, i) => (e, i)), x => Assert.Equal(x.i % 4 != 3, x.e));
        await using var db = await Db.ContextAsync();
        var runs = await db.ActionRuns.AsNoTracking().Where(r => r.ActionId == flow.ActionIds[0]).ToDictionaryAsync(r => r.Id);
        for (var i = 0; i < claimed.Count; i++)
        {
            var run = runs[claimed[i].Run.Id];
            if (i % 4 == 3)
            {
                Assert.Equal((ActionRunStatus.Running, (string?)null), (run.Status, run.ErrorReason));
                continue;
            }

            Assert.Equal(i % 2 == 0 ? ActionRunStatus.Succeeded : ActionRunStatus.Failed, run.Status);
            Assert.Equal(i, run.Output!["i"]!.GetValue<int>());
            Assert.Equal(T0.AddSeconds(i), run.FinishedAt);
            Assert.Null(run.LeaseUntil);
        }

        Assert.Equal(30, await db.ActionRunAttempts.CountAsync());
        // Every succeeded first step (i = 0, 2, 4, ...) started its next step in the same workflow run.
        var nextRuns = await db.ActionRuns.AsNoTracking().Where(r => r.ActionId == flow.ActionIds[1]).ToListAsync();
        Assert.Equal(20, nextRuns.Count);
        Assert.All(nextRuns, r => Assert.Equal(ActionRunStatus.Pending, r.Status));
        Assert.Equal(
            Enumerable.Range(0, 40).Where(i => i % 2 == 0).Select(i => claimed[i].Run.WorkflowRunId).Order(),
            nextRuns.Select(r => r.WorkflowRunId).Order());
        Assert.Equal(10, await db.WorkflowRuns.CountAsync(w => w.Status == WorkflowRunStatus.Failed));
    }

    [Fact]
    public async Task TryClaimPendingRunAsync_WorkflowRunCanceled_DoesNotStartAndClaimRecordsItCanceled()
    {
        var flow = await SeedWorkflowAsync(7, steps: new Step(0));
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(7), flow.Steps, default);
        await using (var db = await Db.ContextAsync())
        {
            await db.WorkflowRuns.ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowRunStatus.Canceled));
        }

        var trigger = Assert.Single(await OutboxTriggersAsync());
        var fast = await Pipeline.TryClaimPendingRunAsync(new PendingClaim(ev.Id, flow.ActionIds[0], trigger.RunId, "w1", T0, T0.AddMinutes(1)), default);
        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);

        Assert.Null(fast);
        Assert.Equal((RunClaimState.AlreadyTerminal, ActionRunStatus.Canceled, 0), (claim.State, claim.Run.Status, claim.Run.Attempt));
        Assert.Equal("the workflow run was canceled", claim.Run.ErrorReason);
    }

    [Fact]
    public async Task FindEventAsync_Existing_ReturnsEveryFieldWithUtcTime()
    {
        var (saved, _) = await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "d"), [], default);

        var found = await Pipeline.FindEventAsync(saved.Id, default);

        Assert.NotNull(found);
        Assert.Equal("input_file_uploaded", found.Kind);
        Assert.Equal(42, found.FileId);
        Assert.Equal("kept", found.Payload["unknown_key"]!.GetValue<string>());
        Assert.Equal("test", found.ExtraMetadata["source"]!.GetValue<string>());
        Assert.Equal(T0, found.TimeCreated);
        Assert.Equal(DateTimeKind.Utc, found.TimeCreated.Kind);
    }

    [Fact]
    public async Task AcceptEventAsync_EventParsedFromABody_StoresTheBodyAsItsPayload()
    {
        var body = """{"id": 5, "kind": "task_completed",  "project_id": 7, "custom": {"deep": [1, "é", null]}, "extra_metadata": {"a": 1}}"""u8.ToArray();
        var ev = DiffgramEventCodec.TryParse(body, T0, out _)!;

        var (saved, _) = await Pipeline.AcceptEventAsync(ev, [], default);
        var found = await Pipeline.FindEventAsync(saved.Id, default);

        // The writer stored the bytes it was given, never having built the trees.
        Assert.True(ev.TryGetPayloadUtf8(out _));
        Assert.True(ev.TryGetExtraMetadataUtf8(out _));
        // Compared as JSON: jsonb keeps its keys in an order of its own.
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(body), found!.Payload), found.Payload.ToJsonString());
        Assert.Equal(1, (int)found.ExtraMetadata["a"]!);
    }

    [Fact]
    public async Task FindEventAsync_Missing_ReturnsNull()
    {
        Assert.Null(await Pipeline.FindEventAsync(404, default));
    }

    [Fact]
    public async Task LoadActionAsync_MiddleStep_PreviousSkipsArchivedStepsAndHasNextStep()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1, Archived: true), new Step(2), new Step(3)]);

        var middle = await Pipeline.LoadActionAsync(flow.ActionIds[2], default);
        var last = await Pipeline.LoadActionAsync(flow.ActionIds[3], default);
        var first = await Pipeline.LoadActionAsync(flow.ActionIds[0], default);

        Assert.NotNull(middle);
        Assert.Equal(flow.ActionIds[0], middle.PreviousActionId);
        Assert.True(middle.HasNextStep);
        Assert.True(middle.WorkflowActive);
        Assert.False(middle.WorkflowArchived);
        Assert.Equal(2, middle.Action.Ordinal);
        Assert.Equal("http://127.0.0.1:9/hook", middle.Action.ConfigData["url"]!.GetValue<string>());
        Assert.Equal(flow.ActionIds[2], last!.PreviousActionId);
        Assert.False(last.HasNextStep);
        Assert.Null(first!.PreviousActionId);
    }

    [Fact]
    public async Task LoadActionAsync_LastStepFollowedOnlyByArchivedStep_HasNoNextStep()
    {
        var flow = await SeedWorkflowAsync(1, active: false, archived: true, steps: [new Step(0), new Step(1, Archived: true)]);

        var snapshot = await Pipeline.LoadActionAsync(flow.ActionIds[0], default);

        Assert.NotNull(snapshot);
        Assert.False(snapshot.HasNextStep);
        Assert.False(snapshot.WorkflowActive);
        Assert.True(snapshot.WorkflowArchived);
    }

    [Fact]
    public async Task LoadActionAsync_Missing_ReturnsNull()
    {
        Assert.Null(await Pipeline.LoadActionAsync(404, default));
    }

    [Fact]
    public async Task CompleteRunAsync_Holder_EndsRunRecordsEmittedEventTriggersAndWorkflowStatus()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1, "action_completed")]);
        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        var emitted = NewEvent(1, kind: "action_completed", workflowRunId: claim.Run.WorkflowRunId);
        emitted.Source = "engine";
        emitted.WorkflowId = flow.WorkflowId;

        var ended = await Pipeline.CompleteRunAsync(
            new RunCompletion(claim.Run.Id, "w1", ActionRunStatus.Succeeded, new JsonObject { ["ok"] = true }, null, null, T0.AddSeconds(1), WorkflowRunStatus.Running),
            emitted,
            [flow.StepAt(1)],
            default);

        Assert.True(ended.Recorded);
        Assert.Empty(ended.HeldRuns);
        Assert.True(emitted.Id > 0);
        await using var db = await Db.ContextAsync();
        var run = await db.ActionRuns.AsNoTracking().SingleAsync(r => r.Id == claim.Run.Id);
        Assert.Equal(ActionRunStatus.Succeeded, run.Status);
        var next = await db.ActionRuns.AsNoTracking().SingleAsync(r => r.Id != claim.Run.Id);
        Assert.Equal((emitted.Id, flow.ActionIds[1], ActionRunStatus.Pending, claim.Run.WorkflowRunId), (next.EventId, next.ActionId, next.Status, next.WorkflowRunId));
        Assert.Null(run.LeaseUntil);
        Assert.Equal(T0.AddSeconds(1), run.FinishedAt);
        Assert.True(run.Output!["ok"]!.GetValue<bool>());
        var stored = await db.Events.AsNoTracking().SingleAsync(e => e.Id == emitted.Id);
        Assert.Equal(claim.Run.WorkflowRunId, stored.WorkflowRunId);
        var trigger = Assert.Single(await OutboxTriggersAsync());
        Assert.Equal((emitted.Id, flow.ActionIds[1]), (trigger.EventId, trigger.ActionId));
        var workflowRun = await db.WorkflowRuns.AsNoTracking().SingleAsync();
        Assert.Equal(WorkflowRunStatus.Running, workflowRun.Status);
        Assert.Equal(T0.AddSeconds(1), workflowRun.TimeUpdated);
    }

    [Fact]
    public async Task CompleteRunAsync_NextStepMarkedRunHere_ReturnsItHeldInTheSameWorkflowRunWithoutTrigger()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1, "action_completed")]);
        var lease = new StepLease("w1", T0, T0.AddSeconds(15));
        var first = Assert.Single((await Pipeline.AcceptEventAsync(NewEvent(1), [flow.StepAt(0) with { HeldBy = lease }], default)).HeldRuns);
        var emitted = NewEvent(1, kind: "action_completed", workflowRunId: first.WorkflowRunId);
        emitted.WorkflowId = flow.WorkflowId;

        var ended = await Pipeline.CompleteRunAsync(
            new RunCompletion(first.Id, "w1", ActionRunStatus.Succeeded, null, null, null, T0.AddSeconds(1), null),
            emitted,
            [flow.StepAt(1) with { HeldBy = lease with { StartedAt = T0.AddSeconds(1) } }],
            default);

        Assert.True(ended.Recorded);
        var next = Assert.Single(ended.HeldRuns);
        Assert.Equal((flow.ActionIds[1], emitted.Id, first.WorkflowRunId, ActionRunStatus.Running, 1), (next.ActionId, next.EventId, next.WorkflowRunId, next.Status, next.Attempt));
        Assert.Empty(await OutboxTriggersAsync());
        await using var db = await Db.ContextAsync();
        var stored = await db.ActionRuns.AsNoTracking().SingleAsync(r => r.Id == next.Id);
        Assert.Equal(("w1", T0.AddSeconds(1)), (stored.WorkerId, stored.StartedAt));
    }

    [Fact]
    public async Task CompleteRunAsync_RetryAt_RunRetryingWithItsAttemptAndATriggerHiddenUntilThen()
    {
        var flow = await SeedWorkflowAsync(1, steps: new Step(0));
        var lease = new StepLease("w1", T0, T0.AddSeconds(15));
        var run = Assert.Single((await Pipeline.AcceptEventAsync(NewEvent(1), [flow.StepAt(0) with { HeldBy = lease }], default)).HeldRuns);
        var retryAt = T0.AddSeconds(30);
        var attempt = new ActionRunAttempt { Attempt = 1, StartedAt = T0, FinishedAt = T0.AddSeconds(2), Status = ActionRunStatus.Failed, Error = "503", ErrorType = "RetryableFailure", WorkerId = "w1", NextAttemptAt = retryAt };

        var ended = await Pipeline.CompleteRunAsync(
            new RunCompletion(run.Id, "w1", ActionRunStatus.Retrying, new JsonObject { ["status_code"] = 503 }, "503", "RetryableFailure", T0.AddSeconds(2), null, retryAt, attempt),
            null, [], default);

        Assert.True(ended.Recorded);
        await using var db = await Db.ContextAsync();
        var stored = await db.ActionRuns.AsNoTracking().SingleAsync();
        Assert.Equal((ActionRunStatus.Retrying, retryAt, (DateTime?)null, "503", 503), (stored.Status, stored.NextAttemptAt, stored.LeaseUntil, stored.ErrorReason, stored.Output!["status_code"]!.GetValue<int>()));
        var recorded = await db.ActionRunAttempts.AsNoTracking().SingleAsync();
        Assert.Equal((run.Id, 1, T0, T0.AddSeconds(2), ActionRunStatus.Failed, "503", "RetryableFailure", "w1", retryAt),
            (recorded.ActionRunId, recorded.Attempt, recorded.StartedAt, recorded.FinishedAt, recorded.Status, recorded.Error, recorded.ErrorType, recorded.WorkerId, recorded.NextAttemptAt));
        var row = await db.OutboxMessages.AsNoTracking().SingleAsync();
        Assert.Equal(retryAt, row.AvailableAt);
        Assert.Equal(new TriggerMessage(run.EventId, run.ActionId, 1, run.Id), TriggerMessage.TryParse(row.Body, out _));
        Assert.Equal(1, await db.Events.CountAsync());
        Assert.Equal(WorkflowRunStatus.Running, (await db.WorkflowRuns.AsNoTracking().SingleAsync()).Status);
    }

    [Fact]
    public async Task CompleteRunAsync_NotTheHolder_ReturnsFalseAndWritesNothing()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1, "action_completed")]);
        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "holder", T0), default);
        var emitted = NewEvent(1, kind: "action_completed", workflowRunId: claim.Run.WorkflowRunId);

        var ended = await Pipeline.CompleteRunAsync(
            new RunCompletion(claim.Run.Id, "intruder", ActionRunStatus.Failed, null, "boom", "X", T0.AddSeconds(1), WorkflowRunStatus.Failed),
            emitted,
            [flow.StepAt(1)],
            default);

        Assert.False(ended.Recorded);
        await using var db = await Db.ContextAsync();
        var run = await db.ActionRuns.AsNoTracking().SingleAsync();
        Assert.Equal((ActionRunStatus.Running, "holder", (string?)null), (run.Status, run.WorkerId, run.ErrorReason));
        Assert.Equal(1, await db.Events.CountAsync());
        Assert.Empty(await OutboxTriggersAsync());
        Assert.Equal(WorkflowRunStatus.Running, (await db.WorkflowRuns.AsNoTracking().SingleAsync()).Status);
    }

    [Fact]
    public async Task CompleteRunAsync_AlreadyCompleted_ReturnsFalse()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: new Step(0));
        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        var completion = new RunCompletion(claim.Run.Id, "w1", ActionRunStatus.Succeeded, null, null, null, T0, WorkflowRunStatus.Succeeded);

        Assert.True((await Pipeline.CompleteRunAsync(completion, null, [], default)).Recorded);
        Assert.False((await Pipeline.CompleteRunAsync(completion, null, [], default)).Recorded);
    }

    [Fact]
    public async Task CompleteRunAsync_WorkflowRunAlreadyFailed_KeepsFailed()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(0, Kind: "email")]);
        var a = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        var b = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[1], flow.WorkflowId, "w2", T0), default);
        Assert.Equal(a.Run.WorkflowRunId, b.Run.WorkflowRunId);

        await Pipeline.CompleteRunAsync(new RunCompletion(a.Run.Id, "w1", ActionRunStatus.Failed, null, "boom", "X", T0, WorkflowRunStatus.Failed), null, [], default);
        await Pipeline.CompleteRunAsync(new RunCompletion(b.Run.Id, "w2", ActionRunStatus.Succeeded, null, null, null, T0, WorkflowRunStatus.Succeeded), null, [], default);

        await using var db = await Db.ContextAsync();
        Assert.Equal(WorkflowRunStatus.Failed, (await db.WorkflowRuns.AsNoTracking().SingleAsync()).Status);
    }

    [Fact]
    public async Task RenewLeasesAsync_OwnRunningRuns_ExtendsOnlyThose()
    {
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1), [], default);
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1), new Step(2)]);
        var mine = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "me", T0), default);
        var done = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[1], flow.WorkflowId, "me", T0), default);
        var theirs = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[2], flow.WorkflowId, "them", T0), default);
        await Pipeline.CompleteRunAsync(new RunCompletion(done.Run.Id, "me", ActionRunStatus.Succeeded, null, null, null, T0, null), null, [], default);
        var renewed = T0.AddMinutes(30);

        await Pipeline.RenewLeasesAsync([mine.Run.Id, done.Run.Id, theirs.Run.Id], "me", renewed, default);

        await using var db = await Db.ContextAsync();
        var leases = await db.ActionRuns.AsNoTracking().ToDictionaryAsync(r => r.Id, r => r.LeaseUntil);
        Assert.Equal(renewed, leases[mine.Run.Id]);
        Assert.Null(leases[done.Run.Id]);
        Assert.Equal(T0.AddMinutes(5), leases[theirs.Run.Id]);
    }

    private async Task<List<TriggerMessage>> OutboxTriggersAsync()
    {
        await using var db = await Db.ContextAsync();
        var rows = await db.OutboxMessages.AsNoTracking().OrderBy(m => m.Id).ToListAsync();
        Assert.All(rows, r => Assert.Equal(QueueNames.ActionTriggers, r.Queue));
        return rows.Select(r => TriggerMessage.TryParse(r.Body, out _)!).ToList();
    }
}
