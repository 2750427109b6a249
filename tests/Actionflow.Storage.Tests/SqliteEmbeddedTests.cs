using Actionflow.Core.Abstractions;
using Actionflow.Storage.Tests.Infrastructure;
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

    private static async Task<object?> PragmaAsync(ActionflowDbContext db, string name)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return await command.ExecuteScalarAsync();
    }
}
