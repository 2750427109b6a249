using System.Collections.Concurrent;
using System.Text;
using Actionflow.Core.Domain;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

public abstract class OutboxStoreTests(IDatabaseHost host) : StorageTestBase(host)
{
    [Fact]
    public async Task RelayAsync_PublishSucceeds_DeletesTheOldestBatch()
    {
        var ids = await AddRowsAsync(5);
        IReadOnlyList<OutboxMessage>? published = null;

        var count = await Outbox.RelayAsync(3, (rows, _) =>
        {
            published = rows;
            return Task.CompletedTask;
        }, default);

        Assert.Equal(3, count);
        Assert.Equal(ids.Take(3), published!.Select(r => r.Id));
        Assert.Equal("m0", Encoding.UTF8.GetString(published![0].Body));
        Assert.Equal("{\"x-trace\":\"t0\"}", published[0].Headers);
        Assert.Equal(ids.Skip(3), await RemainingAsync());
    }

    [Fact]
    public async Task RelayAsync_PublishThrows_KeepsRowsAndRethrows()
    {
        var ids = await AddRowsAsync(3);

        await Assert.ThrowsAsync<TimeoutException>(() => Outbox.RelayAsync(10, (_, _) => throw new TimeoutException("no confirm"), default));

        Assert.Equal(ids, await RemainingAsync());
        Assert.Equal(3, await Outbox.RelayAsync(10, (_, _) => Task.CompletedTask, default));
        Assert.Empty(await RemainingAsync());
    }

    [Fact]
    public async Task RelayAsync_NothingToRelay_ReturnsZeroWithoutPublishing()
    {
        var called = false;

        var count = await Outbox.RelayAsync(10, (_, _) =>
        {
            called = true;
            return Task.CompletedTask;
        }, default);

        Assert.Equal(0, count);
        Assert.False(called);
    }

    [Fact]
    public async Task RelayAsync_ConcurrentRelays_PublishEveryRowExactlyOnce()
    {
        var ids = await AddRowsAsync(40);
        var published = new ConcurrentBag<long>();

        async Task RelayUntilEmptyAsync()
        {
            while (await Outbox.RelayAsync(5, async (rows, ct) =>
            {
                foreach (var row in rows)
                {
                    published.Add(row.Id);
                }

                await Task.Delay(20, ct);
            }, default) > 0)
            {
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(RelayUntilEmptyAsync)));

        Assert.Equal(ids, published.Order());
        Assert.Empty(await RemainingAsync());
    }

    private async Task<List<long>> AddRowsAsync(int count)
    {
        await using var db = await Db.ContextAsync();
        var rows = Enumerable.Range(0, count).Select(i => new OutboxMessage
        {
            Queue = i % 2 == 0 ? "actions" : "events",
            Body = Encoding.UTF8.GetBytes($"m{i}"),
            Headers = $"{{\"x-trace\":\"t{i}\"}}",
            TimeCreated = T0,
        }).ToList();
        db.OutboxMessages.AddRange(rows);
        await db.SaveChangesAsync();
        return rows.Select(r => r.Id).ToList();
    }

    private async Task<List<long>> RemainingAsync()
    {
        await using var db = await Db.ContextAsync();
        return await db.OutboxMessages.OrderBy(m => m.Id).Select(m => m.Id).ToListAsync();
    }
}
