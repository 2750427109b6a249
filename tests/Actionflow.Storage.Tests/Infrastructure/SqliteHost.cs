using Microsoft.Data.Sqlite;

namespace Actionflow.Storage.Tests.Infrastructure;

/// <summary>A fresh SQLite file in its own temporary folder for every test (the embedded default layout).</summary>
public sealed class SqliteHost : IDatabaseHost
{
    public StorageProvider Provider => StorageProvider.Sqlite;

    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "actionflow-storage-tests", Guid.NewGuid().ToString("N"));
        var services = await TestDatabase.BuildAndMigrateAsync(new StorageOptions { ConnectionString = "", DataDirectory = directory });
        var connectionString = services.GetService(typeof(StorageConnection)) is StorageConnection c ? c.ConnectionString : "";
        return new TestDatabase(services, connectionString, () =>
        {
            using (var connection = new SqliteConnection(connectionString))
            {
                SqliteConnection.ClearPool(connection);
            }

            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }

            return ValueTask.CompletedTask;
        });
    }
}
