using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage;

/// <summary>Brings the database schema up to date; run once at start before anything else touches the database.</summary>
public interface IDatabaseMigrator
{
    Task MigrateAsync(CancellationToken cancellationToken);
}

public sealed class DatabaseMigrator(IDbContextFactory<ActionflowDbContext> contextFactory) : IDatabaseMigrator
{
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        if (db.Provider == StorageProvider.Sqlite)
        {
            // Persistent in the file: readers never block the writer, and with synchronous=NORMAL a crash loses nothing committed.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }

        await db.Database.MigrateAsync(cancellationToken);
    }
}
