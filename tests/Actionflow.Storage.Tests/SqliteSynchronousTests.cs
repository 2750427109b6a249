using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary><c>Actionflow__Embedded__Synchronous</c>: NORMAL by default, FULL when asked, anything else refused at start.</summary>
public sealed class SqliteSynchronousTests
{
    [Theory]
    [InlineData(SqliteSynchronous.Normal, 1L)]
    [InlineData(SqliteSynchronous.Full, 2L)]
    public async Task AddActionflowStorage_SynchronousSetting_EveryConnectionUsesIt(SqliteSynchronous setting, long pragma)
    {
        var dir = Path.Combine(Path.GetTempPath(), "actionflow-sync-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            await using (var services = new ServiceCollection()
                             .AddActionflowStorage(new StorageOptions { ConnectionString = $"Data Source={Path.Combine(dir, "a.db")}", Synchronous = setting })
                             .BuildServiceProvider())
            {
                await services.GetRequiredService<IDatabaseMigrator>().MigrateAsync(CancellationToken.None);
                var contexts = services.GetRequiredService<IDbContextFactory<ActionflowDbContext>>();
                for (var i = 0; i < 2; i++)
                {
                    await using var db = await contexts.CreateDbContextAsync();
                    await db.Database.OpenConnectionAsync();
                    await using var command = db.Database.GetDbConnection().CreateCommand();
                    command.CommandText = "PRAGMA synchronous";
                    Assert.Equal(pragma, (long)(await command.ExecuteScalarAsync())!);
                }
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(null, SqliteSynchronous.Normal)]
    [InlineData("", SqliteSynchronous.Normal)]
    [InlineData("normal", SqliteSynchronous.Normal)]
    [InlineData("FULL", SqliteSynchronous.Full)]
    [InlineData(" Full ", SqliteSynchronous.Full)]
    public void ParseSynchronous_KnownValues_Parsed(string? value, SqliteSynchronous expected) =>
        Assert.Equal(expected, StorageServiceCollectionExtensions.ParseSynchronous(value));

    [Theory]
    [InlineData("OFF")]
    [InlineData("EXTRA")]
    [InlineData("1")]
    public void ParseSynchronous_OtherValues_RefusedNamingTheSetting(string value)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => StorageServiceCollectionExtensions.ParseSynchronous(value));
        Assert.Contains("Actionflow__Embedded__Synchronous", ex.Message, StringComparison.Ordinal);
    }
}
