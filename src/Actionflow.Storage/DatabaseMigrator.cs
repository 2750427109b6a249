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
        // nothing on a database that is up to date. That check is CompiledModelTests' and MigrationTests' job. Whether
        // a migration is pending is read here from the history table itself: EF Core's GetPendingMigrationsAsync goes
        // through its HistoryRepository, which first builds a model of that table with the conventions (about 1,500
        // methods compiled by the JIT, a seventh of a start on an existing database; bench/README.md, "Round 3").
        if (await HasPendingMigrationsAsync(db, cancellationToken))
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

    /// <summary>
    /// True when a migration of the migrations assembly is missing from the history table, or the table itself is
    /// (a new database). The table is looked for in the catalog first: reading a missing table fails and logs an error.
    /// </summary>
    private static async Task<bool> HasPendingMigrationsAsync(ActionflowDbContext db, CancellationToken cancellationToken)
    {
        var known = db.Database.GetMigrations().ToList();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            await using (var exists = connection.CreateCommand())
            {
                exists.CommandText = db.Provider == StorageProvider.Postgres
                    ? "SELECT to_regclass('\"__EFMigrationsHistory\"') IS NOT NULL"
                    : "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsHistory')";
                if (!Convert.ToBoolean(await exists.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture))
                {
                    return true;
                }
            }

            var applied = new HashSet<string>(StringComparer.Ordinal);
            await using (var history = connection.CreateCommand())
            {
                history.CommandText = "SELECT \"MigrationId\" FROM \"__EFMigrationsHistory\"";
                await using var reader = await history.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetString(0));
                }
            }

            return known.Exists(id => !applied.Contains(id));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
