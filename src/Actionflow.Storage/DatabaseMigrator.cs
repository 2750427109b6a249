using Actionflow.Core.Secrets;
using Actionflow.Storage.Stores;
using Microsoft.EntityFrameworkCore;
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
        // looked for first, in the catalog: on a new database, reading it (or EF Core's own ExistsAsync on PostgreSQL,
        // which tries to read it) fails and logs an error.
        if (!await HistoryTableExistsAsync(db, cancellationToken)
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

    private static async Task<bool> HistoryTableExistsAsync(ActionflowDbContext db, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = db.Provider == StorageProvider.Postgres
                ? "SELECT to_regclass('\"__EFMigrationsHistory\"') IS NOT NULL"
                : "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsHistory')";
            return Convert.ToBoolean(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
