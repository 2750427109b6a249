using System.Collections.Concurrent;
using System.Text;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class EmbeddedQueueStoreTests(IDatabaseHost host) : StorageTestBase(host)
{
    private static readonly DateTime Hidden = T0.AddSeconds(30);

    [Fact]
    public async Task LeaseAsync_VisibleRows_HidesThemUntilTheLeaseEndsAndCountsDeliveries()
    {
        await EnqueueAsync(QueueNames.ActionTriggers, 3);
        await EnqueueAsync(QueueNames.Events, 1);

        var first = await Queue.LeaseAsync(QueueNames.ActionTriggers, 10, T0, Hidden, default);
        var whileHidden = await Queue.LeaseAsync(QueueNames.ActionTriggers, 10, T0.AddSeconds(29), Hidden, default);
        var afterLease = await Queue.LeaseAsync(QueueNames.ActionTriggers, 10, Hidden, Hidden.AddSeconds(30), default);

        Assert.Equal(3, first.Count);
        Assert.All(first, m => Assert.Equal((QueueNames.ActionTriggers, 1, (DateTime?)Hidden), (m.Queue, m.Deliveries, m.AvailableAt)));
        Assert.Empty(whileHidden);
        Assert.Equal(first.Select(m => m.Id), afterLease.Select(m => m.Id));
        Assert.All(afterLease, m => Assert.Equal(2, m.Deliveries));
    }

    [Fact]
    public async Task LeaseAsync_MoreRowsThanMax_TakesTheOldest()
    {
        var ids = await EnqueueAsync(QueueNames.Events, 5);

        var leased = await Queue.LeaseAsync(QueueNames.Events, 2, T0, Hidden, default);

        Assert.Equal(ids.Take(2), leased.Select(m => m.Id));
        Assert.Equal("m0", Encoding.UTF8.GetString(leased[0].Body));
    }

    [Fact]
    public async Task LeaseAsync_ParallelConsumers_NeverHandOutARowTwice()
    {
        var ids = await EnqueueAsync(QueueNames.ActionTriggers, 30);
        var leased = new ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            IReadOnlyList<OutboxMessage> batch;
            do
            {
                batch = await Queue.LeaseAsync(QueueNames.ActionTriggers, 4, T0, Hidden, default);
                foreach (var message in batch)
                {
                    leased.Add(message.Id);
                }
            }
            while (batch.Count > 0);
        })));

        Assert.Equal(ids, leased.Order());
    }

    [Fact]
    public async Task ReleaseAllAsync_HiddenRows_AreVisibleAgain()
    {
        await EnqueueAsync(QueueNames.Events, 2);
        await Queue.LeaseAsync(QueueNames.Events, 10, T0, Hidden, default);

        await Queue.ReleaseAllAsync(default);

        Assert.Equal(2, (await Queue.LeaseAsync(QueueNames.Events, 10, T0, Hidden, default)).Count);
    }

    [Fact]
    public async Task RescheduleAsync_LaterTime_RowHiddenUntilThen()
    {
        var id = (await EnqueueAsync(QueueNames.Events, 1))[0];

        await Queue.RescheduleAsync(id, T0.AddMinutes(1), default);

        Assert.Empty(await Queue.LeaseAsync(QueueNames.Events, 10, T0.AddSeconds(59), Hidden, default));
        Assert.Single(await Queue.LeaseAsync(QueueNames.Events, 10, T0.AddMinutes(1), Hidden, default));
    }

    [Fact]
    public async Task DeleteAsync_LeasedRow_IsGone()
    {
        var id = (await EnqueueAsync(QueueNames.Events, 1))[0];
        await Queue.LeaseAsync(QueueNames.Events, 10, T0, Hidden, default);

        await Queue.DeleteAsync(id, default);
        await Queue.ReleaseAllAsync(default);

        Assert.Empty(await Queue.LeaseAsync(QueueNames.Events, 10, T0, Hidden, default));
    }

    [Fact]
    public async Task DeadLetterAsync_LeasedRow_MovesItWithTheReason()
    {
        await EnqueueAsync(QueueNames.ActionTriggers, 1);
        var message = (await Queue.LeaseAsync(QueueNames.ActionTriggers, 1, T0, Hidden, default))[0];

        await Queue.DeadLetterAsync(message, "not a trigger message", "System.Text.Json.JsonException", T0.AddSeconds(1), default);

        await using var db = await Db.ContextAsync();
        Assert.Equal(0, await db.OutboxMessages.CountAsync());
        var dead = await db.DeadLetters.AsNoTracking().SingleAsync();
        Assert.Equal(
            (QueueNames.ActionTriggers, "m0", "not a trigger message", "System.Text.Json.JsonException", 1, T0.AddSeconds(1), "{\"h\":\"0\"}"),
            (dead.Queue, Encoding.UTF8.GetString(dead.Body), dead.Reason, dead.ExceptionType, dead.Deliveries, dead.TimeCreated, dead.Headers));
    }

    [Fact]
    public async Task AcceptEventAsync_WithTheEventsQueueReceipt_DeletesTheRowWithTheEventOnSqliteAndLeavesItToTheAckOtherwise()
    {
        var id = (await EnqueueAsync(QueueNames.Events, 1))[0];
        await Queue.LeaseAsync(QueueNames.Events, 1, T0, Hidden, default);
        var receipt = new QueueReceipt(id);

        var accepted = await Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: "q1"), Steps(5), receipt, default);

        Assert.True(accepted.Inserted);
        await using var db = await Db.ContextAsync();
        Assert.Equal(1, await db.Events.CountAsync(e => e.DedupKey == "q1"));
        Assert.Equal(1, await db.ActionRuns.CountAsync(r => r.EventId == accepted.Event.Id));
        // SQLite acks in the accept's transaction; PostgreSQL's accept does not, and the transport's ack deletes the row.
        var sqlite = Provider == StorageProvider.Sqlite;
        Assert.Equal(sqlite, receipt.Consumed);
        Assert.Equal(sqlite ? 0 : 1, await db.OutboxMessages.CountAsync(m => m.Id == id));
    }

    [Fact]
    public async Task AcceptEventAsync_DuplicateWithAReceipt_WritesNothingAndLeavesTheRowToTheAck()
    {
        await Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: "dup"), Steps(5), default);
        var id = (await EnqueueAsync(QueueNames.Events, 1))[0];
        var receipt = new QueueReceipt(id);

        var again = await Pipeline.AcceptEventAsync(NewEvent(1, dedupKey: "dup"), Steps(5), receipt, default);

        Assert.False(again.Inserted);
        Assert.False(receipt.Consumed);
        await using var db = await Db.ContextAsync();
        Assert.Equal(1, await db.OutboxMessages.CountAsync(m => m.Id == id));
        Assert.Equal(1, await db.ActionRuns.CountAsync());
    }

    private async Task<List<long>> EnqueueAsync(string queue, int count)
    {
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var message = new OutboxMessage { Queue = queue, Body = Encoding.UTF8.GetBytes($"m{i}"), Headers = $"{{\"h\":\"{i}\"}}", TimeCreated = T0 };
            await Queue.EnqueueAsync(message, default);
            ids.Add(message.Id);
        }

        return ids;
    }
}
