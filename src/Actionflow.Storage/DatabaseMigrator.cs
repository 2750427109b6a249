using Actionflow.Core.Secrets;
using Actionflow.Storage.Stores;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Logging;

namespace Actionflow.Storage;

/// <summary>Brings the database schema up to date; run once at start before anything else touches the database.</summary>
public interface IDatabaseMigrator
{
    Task MigrateAsync(CancellationToken cancellationToken);
}

public sealed class DatabaseMigrator(IDbContextFactory<ActionflowDbContext> contextFactory, SecretKeyRing secretKeys, ILogger<DatabaseMigrator> logger) : IDatabaseMigrator
{
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        if (db.Provider == StorageProvider.Sqlite)
        {
            // Persistent in the file: readers never block the writer, and with synchronous=NORMAL a crash loses nothing committed.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }

        // Migrate first checks the model against the last migration's snapshot, which builds the model from the
        // configuration classes (the compiled model cannot stand in for it) and the snapshot's: seconds at start, for
        // nothing on a database that is up to date. That check is CompiledModelTests' and MigrationTests' job; listing
        // the pending migrations reads the history table and the migration attributes only. The history table is
        // looked for first: on a new database, reading it would fail and log an error.
        if (!await db.GetService<IHistoryRepository>().ExistsAsync(cancellationToken)
            || (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Any())
        {
            await db.Database.MigrateAsync(cancellationToken);
        }

        // Secrets are part of the schema's state: values stored in clear before they were encrypted are sealed, values
        // under a key being rotated away from are re-sealed, and a database whose secrets no key here opens stops the start.
        var report = await SecretMaintenance.RunAsync(db, secretKeys, cancellationToken);
        if (report.FieldsSealed + report.Resealed > 0)
        {
            StorageLog.SecretsMaintained(logger, report.FieldsSealed, report.Resealed, secretKeys.Current.Id);
        }
    }
}
