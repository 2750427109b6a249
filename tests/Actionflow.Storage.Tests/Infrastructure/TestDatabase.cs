using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Storage.Tests.Infrastructure;

/// <summary>One migrated, isolated database with the storage module registered against it.</summary>
public sealed class TestDatabase(ServiceProvider services, string connectionString, Func<ValueTask> drop) : IAsyncDisposable
{
    public ServiceProvider Services { get; } = services;

    public string ConnectionString { get; } = connectionString;

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public Task<ActionflowDbContext> ContextAsync() => Get<IDbContextFactory<ActionflowDbContext>>().CreateDbContextAsync();

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await drop();
    }

    public static async Task<ServiceProvider> BuildAndMigrateAsync(StorageOptions options)
    {
        var services = new ServiceCollection().AddActionflowStorage(options).BuildServiceProvider(validateScopes: true);
        await services.GetRequiredService<IDatabaseMigrator>().MigrateAsync(CancellationToken.None);
        return services;
    }
}

/// <summary>Hands out test databases of one provider; used as an xunit class fixture.</summary>
public interface IDatabaseHost
{
    StorageProvider Provider { get; }

    Task<TestDatabase> CreateDatabaseAsync();
}
