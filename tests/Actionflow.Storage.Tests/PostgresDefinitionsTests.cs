using System.Diagnostics;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>Definitions changes saved concurrently on PostgreSQL, as workers following them by version see them.</summary>
public sealed class PostgresDefinitionsTests(PostgresHost host) : StorageTestBase(host), IClassFixture<PostgresHost>
{
    [Fact]
    public async Task SaveChangesAsync_SecondChangeWhileTheFirstIsOpen_CommitsAfterItSoNoRefreshSkipsTheFirst()
    {
        var first = await SeedWorkflowAsync(1, steps: new Step(0, "task_completed"));
        var second = await SeedWorkflowAsync(2, steps: new Step(0, "task_completed"));
        var index = new TriggerIndex();
        var refresher = new DefinitionsRefresher(index, Definitions, Options.Create(new EngineOptions()), TimeProvider.System, NullLogger<DefinitionsRefresher>.Instance);
        await refresher.RefreshAsync(force: true, default);
        var start = index.Version;

        // The first change takes version start + 1 and stays uncommitted.
        await using var open = await Db.ContextAsync();
        await using var transaction = await open.Database.BeginTransactionAsync();
        (await open.Workflows.SingleAsync(w => w.Id == first.WorkflowId)).Active = false;
        await open.SaveChangesAsync();

        // The second would take start + 2; were it to commit first, a refresher reading start + 2 would never look for
        // the first workflow again. It waits on the version row instead.
        var later = Task.Run(async () =>
        {
            await using var db = await Db.ContextAsync();
            (await db.Workflows.SingleAsync(w => w.Id == second.WorkflowId)).Active = false;
            await db.SaveChangesAsync();
        });
        await WaitForALockWaitAsync(later);

        Assert.False(later.IsCompleted);
        Assert.False(await refresher.RefreshAsync(force: false, default));
        Assert.Equal(2, index.Count);

        await transaction.CommitAsync();
        await later;
        Assert.True(await refresher.RefreshAsync(force: false, default));

        Assert.Equal(start + 2, index.Version);
        Assert.Equal(0, index.Count);
        Assert.Empty(index.Match(new Event { ExtraMetadata = [], Payload = [], ProjectId = 1, Kind = "task_completed" }));
        Assert.Empty(index.Match(new Event { ExtraMetadata = [], Payload = [], ProjectId = 2, Kind = "task_completed" }));
    }

    /// <summary>Waits until a session of this database waits on a lock (the second save, behind the first's version row).</summary>
    private async Task WaitForALockWaitAsync(Task saving)
    {
        await using var connection = new NpgsqlConnection(Db.ConnectionString);
        await connection.OpenAsync();
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(30) && !saving.IsCompleted)
        {
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%definitions_version%'",
                connection);
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return;
            }

            await Task.Delay(20);
        }

        await saving;
        Assert.Fail("the second save did not wait for the first one's version row");
    }
}
