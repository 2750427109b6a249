using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Stores;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>
/// The accept of events whose steps all run here is one statement on PostgreSQL, which finds each row's event (and a
/// run's new workflow run) by its ordinal in the batch. The batch is made up here, rather than left to what group commit
/// happens to gather, so that events written and events skipped as duplicates sit side by side in one statement.
/// </summary>
public sealed class PostgresAcceptTests(PostgresHost host) : StorageTestBase(host), IClassFixture<PostgresHost>
{
    [Fact]
    public async Task AcceptAsync_BatchMixingNewEventsAndDuplicates_WritesOnlyWhatHangsOnTheNewOnesEachUnderItsOwnEvent()
    {
        static MatchedStep Held(long actionId, long workflowId) => new MatchedStep(actionId, workflowId, "webhook") with { HeldBy = W1Lease };
        var existing = await Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: "seen"), [Held(11, 1)], default);
        var continued = Assert.Single(existing.HeldRuns).WorkflowRunId;

        var first = NewEvent(7, dedupKey: "a");
        first.TimeCreated = T0.AddSeconds(1);
        var next = NewEvent(8, kind: "action_completed", workflowRunId: continued);
        next.WorkflowId = 1;
        next.TimeCreated = T0.AddSeconds(2);
        var last = NewEvent(9);
        last.TimeCreated = T0.AddSeconds(3);
        var items = new List<(Event, IReadOnlyList<MatchedStep>)>
        {
            (NewEvent(7, dedupKey: "seen"), [Held(11, 1), Held(13, 2)]),
            (first, [Held(11, 1), Held(12, 1), Held(13, 2)]),
            (NewEvent(7, dedupKey: "a"), [Held(11, 1)]),
            (next, [Held(12, 1)]),
            (last, [Held(14, 3)]),
        };

        ActionRun[]?[] held;
        await using (var connection = new NpgsqlConnection(Db.ConnectionString))
        {
            await connection.OpenAsync();
            held = await PostgresPipelineWrites.AcceptAsync(connection, items, default);
        }

        Assert.Equal([false, true, false, true, true], held.Select(h => h is not null));
        await using var db = await Db.ContextAsync();
        var events = await db.Events.AsNoTracking().ToDictionaryAsync(e => e.Id);
        Assert.Equal(4, events.Count);
        var workflowRuns = await db.WorkflowRuns.AsNoTracking().ToDictionaryAsync(w => w.Id);
        var runs = await db.ActionRuns.AsNoTracking().ToDictionaryAsync(r => r.Id);
        Assert.Equal(1 + 3 + 1 + 1, runs.Count);
        Assert.Equal(1 + 2 + 1, workflowRuns.Count);

        // Each held run is the stored row, under its own event, project and time.
        foreach (var (ev, stepsHeld) in new[] { (first, held[1]!), (next, held[3]!), (last, held[4]!) })
        {
            Assert.Equal(ev.ProjectId, events[ev.Id].ProjectId);
            foreach (var run in stepsHeld)
            {
                var stored = runs[run.Id];
                Assert.Equal((ev.Id, ev.ProjectId, ev.TimeCreated, run.WorkflowRunId, "w1"),
                    (stored.EventId, stored.ProjectId, stored.TimeCreated, stored.WorkflowRunId, stored.WorkerId));
            }
        }

        var byAction = held[1]!.ToDictionary(r => r.ActionId);
        Assert.Equal(byAction[11].WorkflowRunId, byAction[12].WorkflowRunId);
        Assert.NotEqual(byAction[11].WorkflowRunId, byAction[13].WorkflowRunId);
        Assert.Equal((first.Id, 1L, 7L, first.TimeCreated), Root(byAction[11].WorkflowRunId));
        Assert.Equal((first.Id, 2L, 7L, first.TimeCreated), Root(byAction[13].WorkflowRunId));
        Assert.Equal(continued, Assert.Single(held[3]!).WorkflowRunId);
        Assert.Equal((last.Id, 3L, 9L, last.TimeCreated), Root(Assert.Single(held[4]!).WorkflowRunId));

        (long, long, long, DateTime) Root(long workflowRunId)
        {
            var w = workflowRuns[workflowRunId];
            return (w.RootEventId, w.WorkflowId, w.ProjectId, w.TimeCreated);
        }
    }
}
