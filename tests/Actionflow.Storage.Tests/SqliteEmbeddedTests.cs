using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Stores;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>What the embedded mode relies on: WAL, synchronous=NORMAL, and concurrent writers waiting instead of failing.</summary>
public sealed class SqliteEmbeddedTests(SqliteHost host) : StorageTestBase(host), IClassFixture<SqliteHost>
{
    [Fact]
    public async Task MigrateAsync_Sqlite_SetsWalJournalAndEveryConnectionUsesNormalSyncAndBusyTimeout()
    {
        await using var db = await Db.ContextAsync();
        await db.Database.OpenConnectionAsync();

        Assert.Equal("wal", await PragmaAsync(db, "journal_mode"));
        Assert.Equal(1L, await PragmaAsync(db, "synchronous"));
        Assert.Equal(30_000L, await PragmaAsync(db, "busy_timeout"));
    }

    [Fact]
    public async Task ContextAsync_PooledAndNewConnections_AllUseNormalSyncAndBusyTimeout()
    {
        // The pragmas run once per SQLite connection, not at every open: a pooled one keeps them, a new one gets them.
        for (var i = 0; i < 4; i++)
        {
            await using var db = await Db.ContextAsync();
            await db.Database.OpenConnectionAsync();
            Assert.Equal(1L, await PragmaAsync(db, "synchronous"));
            Assert.Equal(30_000L, await PragmaAsync(db, "busy_timeout"));
            await db.Database.CloseConnectionAsync();
            if (i % 2 == 1)
            {
                SqliteConnection.ClearAllPools();
            }
        }
    }

    [Fact]
    public async Task Stores_ManyThreadsWritingAtOnce_AllSucceedWithoutBusyErrors()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0), new Step(1), new Step(2)]);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: $"{worker}-{i}"), flow.Steps, default);
                foreach (var actionId in flow.ActionIds)
                {
                    var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, actionId, flow.WorkflowId, $"w{worker}", T0), default);
                    await Pipeline.CompleteRunAsync(
                        new RunCompletion(claim.Run.Id, $"w{worker}", Core.Domain.ActionRunStatus.Succeeded, null, null, null, T0, null), null, [], default);
                }

                await Queue.LeaseAsync(QueueNames.ActionTriggers, 3, T0, T0.AddSeconds(30), default);
            }
        })));

        await using var db = await Db.ContextAsync();
        Assert.Equal(8 * 15, await db.Events.CountAsync());
        Assert.Equal(8 * 15 * 3, await db.ActionRuns.CountAsync(r => r.Status == Core.Domain.ActionRunStatus.Succeeded));
    }

    [Fact]
    public async Task AcceptEventAsync_TransactionRolledBackAfterTheRowsDelete_RowStaysAndItsRedeliveryIsAcceptedOnce()
    {
        var message = new OutboxMessage { Queue = QueueNames.Events, Body = "{}"u8.ToArray(), TimeCreated = T0 };
        await Queue.EnqueueAsync(message, default);
        var id = message.Id;
        var hidden = T0.AddSeconds(30);
        await Queue.LeaseAsync(QueueNames.Events, 1, T0, hidden, default);
        await using (var db = await Db.ContextAsync())
        {
            // A crash between the delete and the commit, as SQLite sees it: the statement after the delete fails.
            await db.Database.ExecuteSqlRawAsync("CREATE TRIGGER fail_ack AFTER DELETE ON outbox_messages BEGIN SELECT RAISE(ABORT, 'injected'); END");
        }

        var first = new QueueReceipt(id);
        await Assert.ThrowsAnyAsync<Exception>(() => Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: "rb"), Steps(5), first, default));

        Assert.False(first.Consumed);
        await using (var db = await Db.ContextAsync())
        {
            Assert.Equal(0, await db.Events.CountAsync(e => e.DedupKey == "rb"));
            Assert.Equal(0, await db.ActionRuns.CountAsync());
            await db.Database.ExecuteSqlRawAsync("DROP TRIGGER fail_ack");
        }

        // The lease runs out (or the process restarts): the row is delivered again and accepted, once.
        var redelivered = Assert.Single(await Queue.LeaseAsync(QueueNames.Events, 1, hidden, hidden.AddSeconds(30), default));
        Assert.Equal((id, 2), (redelivered.Id, redelivered.Deliveries));
        var second = new QueueReceipt(id);
        var accepted = await Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: "rb"), Steps(5), second, default);

        Assert.True(accepted.Inserted);
        Assert.True(second.Consumed);
        await using (var db = await Db.ContextAsync())
        {
            Assert.Equal(0, await db.OutboxMessages.CountAsync(m => m.Queue == QueueNames.Events));
            Assert.Equal(1, await db.Events.CountAsync(e => e.DedupKey == "rb"));
            Assert.Equal(1, await db.ActionRuns.CountAsync());
        }

        // A late copy of the same message (another lease of it before the commit) finds the event, and writes nothing.
        var late = new QueueReceipt(id);
        Assert.False((await Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: "rb"), Steps(5), late, default)).Inserted);
        Assert.False(late.Consumed);
    }

    [Fact]
    public async Task HotWrites_WhileThisProcessHoldsTheWriteTurn_WaitForItInsteadOfSqlitesBusyHandler()
    {
        var flow = await SeedWorkflowAsync(1, steps: [new Step(0)]);
        var (ev, _) = await Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: "first"), flow.Steps, default);
        var claim = await Pipeline.ClaimRunAsync(ClaimRequest(ev, flow.ActionIds[0], flow.WorkflowId, "w1", T0), default);
        await Queue.EnqueueAsync(new OutboxMessage { Queue = QueueNames.Events, Body = "{}"u8.ToArray(), TimeCreated = T0 }, default);
        var gate = Db.Get<SqliteWriteGate>();

        Task<AcceptedEvent> accept;
        Task<CompletionRecorded> complete;
        Task<IReadOnlyList<OutboxMessage>> lease;
        using (await gate.EnterAsync(default))
        {
            accept = Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: "second"), flow.Steps, default);
            complete = Pipeline.CompleteRunAsync(
                new RunCompletion(claim.Run.Id, "w1", Core.Domain.ActionRunStatus.Succeeded, null, null, null, T0, null), null, [], default);
            lease = Queue.LeaseAsync(QueueNames.Events, 1, T0, T0.AddSeconds(30), default);

            // All three wait for the turn (not in SQLite's busy handler, holding a thread): none has begun its transaction.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (gate.Waiting < 3 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5);
            }

            Assert.Equal(3, gate.Waiting);
            Assert.False(accept.IsCompleted || complete.IsCompleted || lease.IsCompleted);
        }

        Assert.True((await accept).Inserted);
        Assert.True((await complete).Recorded);
        Assert.Single(await lease);
    }

    private static async Task<object?> PragmaAsync(ActionflowDbContext db, string name)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return await command.ExecuteScalarAsync();
    }
}
