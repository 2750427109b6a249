using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Actionflow.Storage;

/// <summary>
/// Per-connection SQLite settings (journal_mode=WAL is persistent and set by the migrator): with WAL,
/// synchronous=NORMAL keeps every committed transaction across a process crash; busy_timeout makes a writer wait
/// for the lock instead of failing with SQLITE_BUSY.
/// </summary>
public sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
    private const string Pragmas = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";

    private SqlitePragmaInterceptor()
    {
    }

    /// <summary>One shared, stateless instance: EF then reuses its internal service provider across registrations.</summary>
    public static SqlitePragmaInterceptor Instance { get; } = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
