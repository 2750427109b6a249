using Actionflow.Core.Engine;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>A definitions change of this process is counted in its <see cref="DefinitionsWatch"/> when it commits, never before, never when it rolls back.</summary>
public abstract class DefinitionsWatchStorageTests(IDatabaseHost host) : StorageTestBase(host)
{
    [Fact]
    public async Task SaveChangesAsync_DefinitionsChange_CountedWhenItCommits()
    {
        var seeded = await SeedWorkflowAsync(1, steps: new Step(0));
        var watch = Db.Get<DefinitionsWatch>();
        var before = watch.Changes;

        await using var db = await Db.ContextAsync();
        (await db.Workflows.SingleAsync(w => w.Id == seeded.WorkflowId)).Name = "renamed";
        await db.SaveChangesAsync();

        Assert.True(watch.Changes > before);
    }

    [Fact]
    public async Task SaveChangesAsync_InAnOuterTransaction_CountedAtItsCommitOnly()
    {
        var seeded = await SeedWorkflowAsync(1, steps: new Step(0));
        var watch = Db.Get<DefinitionsWatch>();
        var before = watch.Changes;

        await using var db = await Db.ContextAsync();
        await using (var rolledBack = await db.Database.BeginTransactionAsync())
        {
            (await db.Workflows.SingleAsync(w => w.Id == seeded.WorkflowId)).Name = "never";
            await db.SaveChangesAsync();
            Assert.Equal(before, watch.Changes);
            await rolledBack.RollbackAsync();
        }

        Assert.Equal(before, watch.Changes);
        db.ChangeTracker.Clear();

        await using var committed = await db.Database.BeginTransactionAsync();
        (await db.Workflows.SingleAsync(w => w.Id == seeded.WorkflowId)).Name = "renamed";
        await db.SaveChangesAsync();
        Assert.Equal(before, watch.Changes);
        await committed.CommitAsync();

        Assert.True(watch.Changes > before);
    }

    [Fact]
    public async Task SaveChangesAsync_NoDefinitionsChange_NotCounted()
    {
        await SeedWorkflowAsync(1, steps: new Step(0));
        var watch = Db.Get<DefinitionsWatch>();
        var before = watch.Changes;

        await using var db = await Db.ContextAsync();
        await using var transaction = await db.Database.BeginTransactionAsync();
        db.Events.Add(NewEvent(1));
        await db.SaveChangesAsync();
        await transaction.CommitAsync();

        Assert.Equal(before, watch.Changes);
    }
}

public sealed class DefinitionsWatchStorageSqliteTests(SqliteHost host) : DefinitionsWatchStorageTests(host), IClassFixture<SqliteHost>
{
    // Another process can write the embedded file and tell nobody: every event reads the version.
    [Fact]
    public void Watch_Embedded_NeverFollows() => Assert.False(Db.Get<DefinitionsWatch>().Following);
}

public sealed class DefinitionsWatchStoragePostgresTests(PostgresHost host) : DefinitionsWatchStorageTests(host), IClassFixture<PostgresHost>;
