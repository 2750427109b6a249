using Npgsql;

namespace Actionflow.Storage.Tests.Infrastructure;

/// <summary>
/// PostgreSQL from <c>ACTIONFLOW_TEST_POSTGRES</c>. Per test class it migrates one template database; every test gets
/// its own copy of it (<c>CREATE DATABASE ... TEMPLATE</c>), dropped afterwards. Without the variable every test fails.
/// </summary>
public sealed class PostgresHost : IDatabaseHost, IAsyncLifetime
{
    public const string Variable = "ACTIONFLOW_TEST_POSTGRES";

    private readonly string _template = "af_" + Guid.NewGuid().ToString("N");
    private string? _admin;

    public StorageProvider Provider => StorageProvider.Postgres;

    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set: the PostgreSQL storage tests need a server. Run scripts/start-services.sh and export " +
                $"{Variable}='Host=127.0.0.1;Port=5432;Username=actionflow;Password=actionflow;Database=actionflow'.");

    public async Task InitializeAsync()
    {
        _admin = AdminConnectionString;
        await ExecuteAsync($"CREATE DATABASE \"{_template}\"");
        // No pooling: CREATE DATABASE ... TEMPLATE refuses a template that still has sessions.
        var services = await TestDatabase.BuildAndMigrateAsync(new StorageOptions { ConnectionString = ConnectionStringFor(_template, pooling: false) });
        await services.DisposeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await DropAsync(_template);
        }
    }

    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        var name = "af_" + Guid.NewGuid().ToString("N");
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync($"CREATE DATABASE \"{name}\" TEMPLATE \"{_template}\"");
                break;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 50)
            {
                await Task.Delay(100);
            }
        }

        var connectionString = ConnectionStringFor(name, pooling: true);
        var services = await TestDatabase.BuildAndMigrateAsync(new StorageOptions { ConnectionString = connectionString });
        return new TestDatabase(services, connectionString, async () =>
        {
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                NpgsqlConnection.ClearPool(connection);
            }

            await DropAsync(name);
        });
    }

    /// <summary>
    /// Drops the database. WITH (FORCE) cannot end an autovacuum worker (a superuser's process) busy on it: 42501 until
    /// it is done. A freshly migrated template, or a test that saves many definitions (each updates the version row and
    /// stamps workflows), draws one often enough to fail a drop now and then, so the drop is retried while it lasts.
    /// </summary>
    private async Task DropAsync(string name)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                return;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse && attempt < 30)
            {
                await Task.Delay(500);
            }
        }
    }

    private string ConnectionStringFor(string database, bool pooling) =>
        new NpgsqlConnectionStringBuilder(_admin) { Database = database, Pooling = pooling }.ConnectionString;

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_admin) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
