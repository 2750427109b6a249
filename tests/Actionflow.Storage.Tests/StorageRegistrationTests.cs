using Actionflow.Core.Abstractions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Actionflow.Storage.Tests;

public sealed class StorageRegistrationTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "actionflow-storage-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task AddActionflowStorage_NoConnectionString_UsesSqliteFileInDataDirectory()
    {
        var dataDirectory = Path.Combine(_directory, "data");
        await using var services = new ServiceCollection()
            .AddActionflowStorage(new StorageOptions { ConnectionString = "  ", DataDirectory = dataDirectory })
            .BuildServiceProvider();

        Assert.True(Directory.Exists(dataDirectory));
        Assert.Equal(StorageProvider.Sqlite, services.GetRequiredService<StorageProvider>());
        await using var db = await services.GetRequiredService<IDbContextFactory<ActionflowDbContext>>().CreateDbContextAsync();
        Assert.IsType<SqliteActionflowDbContext>(db);
        Assert.Equal(Path.Combine(dataDirectory, "actionflow.db"), db.Database.GetDbConnection().DataSource);
    }

    [Theory]
    [InlineData("Data Source={0}/x/af.db")]
    [InlineData("data source = {0}/x/af.db;Cache=Shared")]
    [InlineData("{0}/x/af.db")]
    public void AddActionflowStorage_SqliteConnectionString_UsesSqliteAndCreatesFolder(string template)
    {
        using var services = new ServiceCollection()
            .AddActionflowStorage(new StorageOptions { ConnectionString = string.Format(template, _directory) })
            .BuildServiceProvider();

        Assert.Equal(StorageProvider.Sqlite, services.GetRequiredService<StorageProvider>());
        Assert.True(Directory.Exists(Path.Combine(_directory, "x")));
    }

    [Fact]
    public async Task AddActionflowStorage_PostgresConnectionString_UsesPostgresWithoutConnecting()
    {
        await using var services = new ServiceCollection()
            .AddActionflowStorage(new StorageOptions { ConnectionString = "Host=127.0.0.1;Port=1;Database=nowhere;Username=u;Password=p" })
            .BuildServiceProvider();

        Assert.Equal(StorageProvider.Postgres, services.GetRequiredService<StorageProvider>());
        Assert.Equal("PostgreSQL 127.0.0.1:1/nowhere", services.GetRequiredService<StorageConnection>().ToString());
        await using var db = await services.GetRequiredService<IDbContextFactory<ActionflowDbContext>>().CreateDbContextAsync();
        Assert.IsType<PostgresActionflowDbContext>(db);
        Assert.NotNull(services.GetRequiredService<IPipelineStore>());
        Assert.NotNull(services.GetRequiredService<IDefinitionSource>());
        Assert.NotNull(services.GetRequiredService<ITemplateStore>());
        Assert.NotNull(services.GetRequiredService<IOutboxStore>());
        Assert.NotNull(services.GetRequiredService<IEmbeddedQueueStore>());
        Assert.NotNull(services.GetRequiredService<IDatabaseMigrator>());
    }

    [Fact]
    public void AddActionflowStorage_PostgresHostEndingInDotDb_StaysPostgres()
    {
        using var services = new ServiceCollection()
            .AddActionflowStorage(new StorageOptions { ConnectionString = "Database=af;Host=pg.example.db" })
            .BuildServiceProvider();

        Assert.Equal(StorageProvider.Postgres, services.GetRequiredService<StorageProvider>());
    }

    [Theory]
    [InlineData("postgres://user:secret@db/actionflow")]
    [InlineData("Hots=db;Database=actionflow")]
    [InlineData("Host=db;Port=not-a-number")]
    [InlineData("Database=actionflow;Username=u")]
    public void AddActionflowStorage_MalformedConnectionString_FailsNamingTheSetting(string connectionString)
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            new ServiceCollection().AddActionflowStorage(new StorageOptions { ConnectionString = connectionString }));

        Assert.Contains("Actionflow__Database", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }
}
