using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Actionflow.Storage;

/// <summary>How hard SQLite pushes a commit to the disk (<c>Actionflow__Embedded__Synchronous</c>).</summary>
public enum SqliteSynchronous
{
    /// <summary>
    /// With WAL, a commit is in the log file before it returns, and the log is synced at each checkpoint: a process crash
    /// (kill -9 included) loses nothing committed; a power loss or an OS crash may roll back the last commits.
    /// </summary>
    Normal,

    /// <summary>The log is synced at every commit as well: a commit survives a power loss too, at the cost of an fsync per commit.</summary>
    Full,
}

/// <summary>
/// Per-connection SQLite settings (journal_mode=WAL is persistent and set by the migrator): <c>synchronous</c> as
/// configured (<see cref="SqliteSynchronous"/>); busy_timeout makes a writer wait for the lock instead of failing with
/// SQLITE_BUSY.
/// </summary>
public sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
    private static readonly SqlitePragmaInterceptor NormalInstance = new("PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;");
    private static readonly SqlitePragmaInterceptor FullInstance = new("PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;");
    private readonly string _pragmas;
    // Both pragmas last as long as the SQLite connection; Microsoft.Data.Sqlite pools connections, and every DbContext
    // opens one from the pool: the pooled connection's handle tells whether it was set up already. (The embedded path
    // opened about one per event, two statements each.)
    private readonly ConditionalWeakTable<sqlite3, object> _configured = [];

    private SqlitePragmaInterceptor(string pragmas) => _pragmas = pragmas;

    /// <summary>One shared, stateless instance per setting: EF then reuses its internal service provider across registrations.</summary>
    public static SqlitePragmaInterceptor For(SqliteSynchronous synchronous) => synchronous == SqliteSynchronous.Full ? FullInstance : NormalInstance;

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (Configured(connection))
        {
            return;
        }

        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
        Remember(connection);
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (Configured(connection))
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
        Remember(connection);
    }

    private bool Configured(DbConnection connection) =>
        connection is SqliteConnection { Handle: { } handle } && _configured.TryGetValue(handle, out _);

    private void Remember(DbConnection connection)
    {
        if (connection is SqliteConnection { Handle: { } handle })
        {
            _configured.AddOrUpdate(handle, handle);
        }
    }
}
