using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Stores;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>
/// A completion that starts no step is one round trip on PostgreSQL: every write after the runs are ended is conditioned
/// in SQL on its run having been ended by that transaction. One that starts steps takes two, and must leave out the same
/// completions. Batches are made up here, run by run, rather than left to what group commit happens to gather.
/// </summary>
public sealed class PostgresCompletionTests(PostgresHost host) : StorageTestBase(host), IClassFixture<PostgresHost>
{
    [Fact]
    public async Task CompleteAsync_RunsEndedEarlierHeldElsewhereOrTwiceInTheBatch_WriteNothingAndEmittedIdsMapToTheirRuns()
    {
        var flow = await SeedWorkflowAsync(1, steps: new Step(0));
        var runs = new List<ActionRun>();
        for (var i = 0; i < 4; i++)
        {
            runs.Add(Assert.Single((await Pipeline.AcceptEventAsync(NewEvent(1), [flow.StepAt(0) with { HeldBy = W1Lease }], default)).HeldRuns));
        }

        var (r1, r2, r3, r4) = (runs[0], runs[1], runs[2], runs[3]);
        // Ended before the batch; the batch then brings its redelivery.
        Assert.True((await Pipeline.CompleteRunAsync(Completion(r2, "w1", null, T0.AddSeconds(1)), null, [], default)).Recorded);

        var batch = new List<(RunCompletion, Event?, IReadOnlyList<MatchedStep>)>
        {
            (Completion(r1, "w1", WorkflowRunStatus.Succeeded, T0.AddSeconds(2)), Emitted(r1, "r1"), []),
            (Completion(r2, "w1", WorkflowRunStatus.Failed, T0.AddSeconds(3)), Emitted(r2, "r2 again"), []),
            (Completion(r3, "intruder", WorkflowRunStatus.Failed, T0.AddSeconds(4)), Emitted(r3, "r3 by intruder"), []),
            (Completion(r1, "w1", WorkflowRunStatus.Failed, T0.AddSeconds(5)), Emitted(r1, "r1 twice"), []),
            (Completion(r4, "w1", WorkflowRunStatus.Succeeded, T0.AddSeconds(6)), Emitted(r4, "r4"), []),
        };

        CompletionRecorded[] results;
        await using (var connection = new NpgsqlConnection(Db.ConnectionString))
        {
            await connection.OpenAsync();
            results = await PostgresPipelineWrites.CompleteAsync(connection, batch, default);
        }

        Assert.Equal([true, false, false, false, true], results.Select(r => r.Recorded));
        Assert.All(results, r => Assert.Empty(r.HeldRuns));
        await using var db = await Db.ContextAsync();
        var attempts = await db.ActionRunAttempts.AsNoTracking().ToListAsync();
        Assert.Equal([(r1.Id, T0.AddSeconds(2)), (r2.Id, T0.AddSeconds(1)), (r4.Id, T0.AddSeconds(6))],
            attempts.Select(a => (a.ActionRunId, a.FinishedAt)).Order());

        var emitted = batch.Select(b => b.Item2!).ToList();
        Assert.Equal([0L, 0L, 0L], new[] { emitted[1], emitted[2], emitted[3] }.Select(e => e.Id));
        var stored = await db.Events.AsNoTracking().Where(e => e.Kind == "action_completed").ToDictionaryAsync(e => e.Id);
        Assert.Equal(2, stored.Count);
        Assert.Equal(("r1", r1.WorkflowRunId), (stored[emitted[0].Id].Description, stored[emitted[0].Id].WorkflowRunId));
        Assert.Equal(("r4", r4.WorkflowRunId), (stored[emitted[4].Id].Description, stored[emitted[4].Id].WorkflowRunId));
        Assert.True(emitted[0].Id < emitted[4].Id, "ids in the order of the batch");

        var statuses = await db.ActionRuns.AsNoTracking().ToDictionaryAsync(r => r.Id, r => (r.Status, r.FinishedAt));
        Assert.Equal((ActionRunStatus.Succeeded, (DateTime?)T0.AddSeconds(2)), statuses[r1.Id]);
        Assert.Equal((ActionRunStatus.Succeeded, (DateTime?)T0.AddSeconds(1)), statuses[r2.Id]);
        Assert.Equal((ActionRunStatus.Running, (DateTime?)null), statuses[r3.Id]);
        var workflowRuns = await db.WorkflowRuns.AsNoTracking().ToDictionaryAsync(w => w.Id, w => (w.Status, w.TimeUpdated));
        // One status, one time: the latest of the completions ended with it (as WorkflowRunStatuses has it).
        Assert.Equal((WorkflowRunStatus.Succeeded, T0.AddSeconds(6)), workflowRuns[r1.WorkflowRunId]);
        Assert.Equal(WorkflowRunStatus.Running, workflowRuns[r2.WorkflowRunId].Status);
        Assert.Equal(WorkflowRunStatus.Running, workflowRuns[r3.WorkflowRunId].Status);
        Assert.Equal((WorkflowRunStatus.Succeeded, T0.AddSeconds(6)), workflowRuns[r4.WorkflowRunId]);
    }

    [Fact]
    public async Task CompleteAsync_BranchesOfOneWorkflowRunOneHeldElsewhere_StatusFromTheEndedOnesOnly()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(0, Kind: "email"), new Step(0, Kind: "export")]);
        var held = (await Pipeline.AcceptEventAsync(NewEvent(1), [.. flow.Steps.Select(s => s with { HeldBy = W1Lease })], default)).HeldRuns;
        var (a, b, c) = (held[0], held[1], held[2]);
        Assert.Equal(a.WorkflowRunId, c.WorkflowRunId);

        // a's failure is not this worker's to record: the workflow run cannot succeed while a is open, nor fail by it.
        var batch = new List<(RunCompletion, Event?, IReadOnlyList<MatchedStep>)>
        {
            (Completion(a, "intruder", WorkflowRunStatus.Failed, T0.AddSeconds(1)), null, []),
            (Completion(b, "w1", WorkflowRunStatus.Running, T0.AddSeconds(2)), null, []),
            (Completion(c, "w1", WorkflowRunStatus.Succeeded, T0.AddSeconds(3)), null, []),
        };

        await using (var connection = new NpgsqlConnection(Db.ConnectionString))
        {
            await connection.OpenAsync();
            Assert.Equal([false, true, true], (await PostgresPipelineWrites.CompleteAsync(connection, batch, default)).Select(r => r.Recorded));
            // Then a ends: the last branch settles the workflow run.
            batch = [(Completion(a, "w1", WorkflowRunStatus.Succeeded, T0.AddSeconds(4)), null, [])];
            Assert.True((await PostgresPipelineWrites.CompleteAsync(connection, batch, default))[0].Recorded);
        }

        await using var db = await Db.ContextAsync();
        var workflowRun = await db.WorkflowRuns.AsNoTracking().SingleAsync();
        Assert.Equal((WorkflowRunStatus.Succeeded, T0.AddSeconds(4)), (workflowRun.Status, workflowRun.TimeUpdated));
        Assert.Equal(3, await db.ActionRunAttempts.CountAsync());
    }

    [Fact]
    public async Task CompleteAsync_StatusesOfManyEndedRuns_FoldAsTheTwoTripPathDoes()
    {
        // Two workflow runs, each of two branches, all ended in one batch: per workflow run the first status that stays
        // (failed) wins over those that may change; each status takes the latest time of its completions in the batch.
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(0, Kind: "email")]);
        var x = (await Pipeline.AcceptEventAsync(NewEvent(1), [.. flow.Steps.Select(s => s with { HeldBy = W1Lease })], default)).HeldRuns;
        var y = (await Pipeline.AcceptEventAsync(NewEvent(1), [.. flow.Steps.Select(s => s with { HeldBy = W1Lease })], default)).HeldRuns;
        var batch = new List<(RunCompletion, Event?, IReadOnlyList<MatchedStep>)>
        {
            (Completion(x[0], "w1", WorkflowRunStatus.Succeeded, T0.AddSeconds(5)), null, []),
            (Completion(x[1], "w1", WorkflowRunStatus.Failed, T0.AddSeconds(1)), null, []),
            (Completion(y[0], "w1", WorkflowRunStatus.Failed, T0.AddSeconds(2)), null, []),
            (Completion(y[1], "w1", WorkflowRunStatus.Succeeded, T0.AddSeconds(3)), null, []),
        };

        await using (var connection = new NpgsqlConnection(Db.ConnectionString))
        {
            await connection.OpenAsync();
            Assert.All(await PostgresPipelineWrites.CompleteAsync(connection, batch, default), r => Assert.True(r.Recorded));
        }

        await using var db = await Db.ContextAsync();
        var workflowRuns = await db.WorkflowRuns.AsNoTracking().ToDictionaryAsync(w => w.Id, w => (w.Status, w.TimeUpdated));
        Assert.Equal((WorkflowRunStatus.Failed, T0.AddSeconds(2)), workflowRuns[x[0].WorkflowRunId]);
        Assert.Equal((WorkflowRunStatus.Failed, T0.AddSeconds(2)), workflowRuns[y[0].WorkflowRunId]);
    }

    [Fact]
    public async Task CompleteAsync_NextStepsHeldHere_WrittenWithTheCompletionAndHandedBackOnlyForRunsEndedHere()
    {
        // A chain (step 0 → step 1 in the same workflow run) and a second workflow started by the same completion event.
        var chain = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1, EventName: "action_completed", Kind: "email")]);
        var other = await SeedWorkflowAsync(1, steps: new Step(0, EventName: "action_completed", Kind: "export"));
        var runs = new List<ActionRun>();
        for (var i = 0; i < 3; i++)
        {
            runs.Add(Assert.Single((await Pipeline.AcceptEventAsync(NewEvent(1), [chain.StepAt(0) with { HeldBy = W1Lease }], default)).HeldRuns));
        }

        var (r1, r2, r3) = (runs[0], runs[1], runs[2]);
        Assert.True((await Pipeline.CompleteRunAsync(Completion(r2, "w1", null, T0.AddSeconds(1)), null, [], default)).Recorded);
        var next = new StepLease("w1", T0.AddSeconds(9), T0.AddMinutes(9));
        IReadOnlyList<MatchedStep> Next() => [chain.StepAt(1) with { HeldBy = next }, other.StepAt(0) with { HeldBy = next }];
        var batch = new List<(RunCompletion, Event?, IReadOnlyList<MatchedStep>)>
        {
            (Completion(r1, "w1", null, T0.AddSeconds(2)), Emitted(r1, "r1"), Next()),
            (Completion(r2, "w1", null, T0.AddSeconds(3)), Emitted(r2, "r2 again"), Next()),
            (Completion(r3, "intruder", null, T0.AddSeconds(4)), Emitted(r3, "r3 by intruder"), Next()),
        };

        CompletionRecorded[] results;
        await using (var connection = new NpgsqlConnection(Db.ConnectionString))
        {
            await connection.OpenAsync();
            results = await PostgresPipelineWrites.CompleteAsync(connection, batch, default);
        }

        Assert.Equal([true, false, false], results.Select(r => r.Recorded));
        Assert.Empty(results[1].HeldRuns);
        Assert.Empty(results[2].HeldRuns);
        var handed = results[0].HeldRuns;
        var emitted = batch[0].Item2!;
        Assert.Equal([chain.ActionIds[1], other.ActionIds[0]], handed.Select(r => r.ActionId));
        Assert.All(handed, r => Assert.Equal((emitted.Id, ActionRunStatus.Running, "w1", 1), (r.EventId, r.Status, r.WorkerId, r.Attempt)));

        await using var db = await Db.ContextAsync();
        var stored = await db.ActionRuns.AsNoTracking().Where(r => r.EventId == emitted.Id).OrderBy(r => r.Id).ToListAsync();
        Assert.Equal(handed.Select(r => (r.Id, r.ActionId, r.WorkflowRunId)), stored.Select(r => (r.Id, r.ActionId, r.WorkflowRunId)));
        Assert.All(stored, r => Assert.Equal((ActionRunStatus.Running, "w1", (DateTime?)next.StartedAt, (DateTime?)next.LeaseUntil),
            (r.Status, r.WorkerId, r.StartedAt, r.LeaseUntil)));
        // The chain's next step joins r1's workflow run; the other workflow's step starts one rooted at the event.
        Assert.Equal(r1.WorkflowRunId, stored[0].WorkflowRunId);
        var started = await db.WorkflowRuns.AsNoTracking().SingleAsync(w => w.Id == stored[1].WorkflowRunId);
        Assert.Equal((other.WorkflowId, emitted.Id, WorkflowRunStatus.Running), (started.WorkflowId, started.RootEventId, started.Status));
        // Nothing hangs on the completions that were not this worker's to record.
        Assert.Equal(2, await db.ActionRuns.CountAsync(r => r.EventId > r3.EventId));
        Assert.Equal(4, await db.WorkflowRuns.CountAsync());
    }

    private static RunCompletion Completion(ActionRun run, string worker, WorkflowRunStatus? workflowRunStatus, DateTime at) =>
        new(run.Id, worker, ActionRunStatus.Succeeded, new JsonObject { ["at"] = at }, null, null, at, workflowRunStatus,
            Attempt: new ActionRunAttempt { Attempt = 1, StartedAt = T0, FinishedAt = at, Status = ActionRunStatus.Succeeded, WorkerId = worker });

    private static Event Emitted(ActionRun run, string description)
    {
        var ev = NewEvent(1, kind: "action_completed", workflowRunId: run.WorkflowRunId);
        ev.Description = description;
        ev.WorkflowId = run.WorkflowId;
        return ev;
    }
}
