using Actionflow.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Actionflow.Core.Secrets;
using Actionflow.Storage.Stores;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The database named by the settings <c>Actionflow:Database</c> and <c>Actionflow:DataDirectory</c>: PostgreSQL for a
    /// PostgreSQL connection string, else SQLite (the embedded file when empty). The provider is chosen here, once.
    /// </summary>
    public static ActionflowBuilder UseDatabase(this ActionflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var settings = builder.Settings;
        builder.Services.AddActionflowStorage(new StorageOptions
        {
            ConnectionString = settings["Database"],
            DataDirectory = settings["DataDirectory"] is { Length: > 0 } d ? d : "data",
            SecretsKey = settings["SecretsKey"],
            SecretsPreviousKeys = settings["SecretsPreviousKeys"],
            Synchronous = ParseSynchronous(settings["Embedded:Synchronous"]),
        });
        return builder;
    }

    /// <summary>The setting <c>Actionflow__Embedded__Synchronous</c>: empty for the default, else <c>Normal</c> or <c>Full</c>; anything else stops the start.</summary>
    public static SqliteSynchronous ParseSynchronous(string? value) =>
        string.IsNullOrWhiteSpace(value) ? SqliteSynchronous.Normal
        : Enum.TryParse<SqliteSynchronous>(value.Trim(), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(value, out _) ? parsed
        : throw new InvalidOperationException($"Actionflow__Embedded__Synchronous must be Normal or Full, not '{value}'.");

    /// <summary>PostgreSQL at <paramref name="connectionString"/>.</summary>
    public static ActionflowBuilder UsePostgres(this ActionflowBuilder builder, string connectionString) =>
        builder.UseProvider(StorageProvider.Postgres, connectionString);

    /// <summary>SQLite at <paramref name="connectionString"/> (<c>Data Source=/path/actionflow.db</c>, or a path ending in <c>.db</c>).</summary>
    public static ActionflowBuilder UseSqlite(this ActionflowBuilder builder, string connectionString) =>
        builder.UseProvider(StorageProvider.Sqlite, connectionString);

    private static ActionflowBuilder UseProvider(this ActionflowBuilder builder, StorageProvider expected, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new StorageOptions
        {
            ConnectionString = connectionString,
            SecretsKey = builder.Settings["SecretsKey"],
            SecretsPreviousKeys = builder.Settings["SecretsPreviousKeys"],
            Synchronous = ParseSynchronous(builder.Settings["Embedded:Synchronous"]),
        };
        if (StorageConnection.Resolve(options).Provider != expected)
        {
            throw new InvalidOperationException($"'{StorageConnection.Resolve(options)}' is not a {expected} database.");
        }

        builder.Services.AddActionflowStorage(options);
        return builder;
    }

    /// <summary>
    /// Registers the database (PostgreSQL or SQLite, from <paramref name="options"/>), a pooled
    /// <see cref="IDbContextFactory{ActionflowDbContext}"/>, <see cref="StorageProvider"/>, <see cref="IDatabaseMigrator"/>
    /// and the stores. Throws <see cref="InvalidOperationException"/> at once on an unusable connection string.
    /// </summary>
    public static IServiceCollection AddActionflowStorage(this IServiceCollection services, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        var connection = StorageConnection.Resolve(options);
        services.AddSingleton(connection);
        services.Add(ServiceDescriptor.Singleton(typeof(StorageProvider), connection.Provider));

        // The provider is chosen here, once: each gets its own context and pipeline store, and nothing asks again per call.
        if (connection.Provider == StorageProvider.Sqlite)
        {
            services.AddPooledDbContextFactory<SqliteActionflowDbContext>((sp, b) =>
                CountDefinitionsCommits(SqliteActionflowDbContext.Configure(b, connection.ConnectionString, options.Synchronous), sp));
            services.AddSingleton<IDbContextFactory<ActionflowDbContext>>(sp =>
                new ActionflowDbContextFactory<SqliteActionflowDbContext>(sp.GetRequiredService<IDbContextFactory<SqliteActionflowDbContext>>()));
            services.AddSingleton<IPipelineStore, SqlitePipelineStore>();
        }
        else
        {
            services.AddPooledDbContextFactory<PostgresActionflowDbContext>((sp, b) =>
                CountDefinitionsCommits(PostgresActionflowDbContext.Configure(b, connection.ConnectionString), sp));
            services.AddSingleton<IDbContextFactory<ActionflowDbContext>>(sp =>
                new ActionflowDbContextFactory<PostgresActionflowDbContext>(sp.GetRequiredService<IDbContextFactory<PostgresActionflowDbContext>>()));
            services.AddSingleton<IPipelineStore, PostgresPipelineStore>();
        }

        services.AddLogging();
        services.AddSingleton(new SecretKeySettings
        {
            Key = options.SecretsKey,
            PreviousKeys = options.SecretsPreviousKeys,
            // The embedded database gets a key file beside it at first need; PostgreSQL (shared by workers on many machines) needs the setting.
            KeyFile = connection.Provider == StorageProvider.Sqlite
                ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connection.ConnectionString).DataSource)) ?? ".",
                    SecretKeySettings.KeyFileName)
                : null,
        });
        services.TryAddSingleton<SecretKeyRing>();
        services.AddSingleton<SecretStore>();
        services.AddSingleton<ISecretSource>(sp => sp.GetRequiredService<SecretStore>());
        services.AddSingleton<IDatabaseMigrator, DatabaseMigrator>();
        services.AddSingleton<IRunControl, RunControlStore>();
        services.TryAddSingleton<IOutboxSignal, Actionflow.Core.Engine.OutboxSignal>();
        services.AddSingleton<IDefinitionSource, DefinitionSource>();
        services.TryAddSingleton<DefinitionsWatch>();
        if (connection.Provider == StorageProvider.Postgres)
        {
            // Other processes' changes are told by PostgreSQL's notifications, while the listening connection is open.
            services.AddHostedService<PostgresDefinitionsListener>();
        }

        // SQLite has no notification: another process may write the embedded file too (a second process on the same
        // data directory, a tool, the integration tests' helpers), so nothing follows there and every event reads the
        // version, as before.

        services.AddSingleton<ITemplateStore, TemplateStore>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IOutboxStore, OutboxStore>();
        services.AddSingleton<IDeadLetterStore, DeadLetterStore>();
        services.AddSingleton<SqliteWriteGate>();
        services.AddSingleton<IEmbeddedQueueStore, EmbeddedQueueStore>();
        services.AddSingleton<IScheduleStore, ScheduleStore>();
        services.AddSingleton<IWindowStore, WindowStore>();
        services.AddSingleton<IConcurrencyStore, ConcurrencyStore>();
        return services;
    }

    /// <summary>Counts this process's definitions changes in its <see cref="DefinitionsWatch"/> when they commit (none without an engine).</summary>
    private static DbContextOptionsBuilder CountDefinitionsCommits(DbContextOptionsBuilder builder, IServiceProvider services) =>
        services.GetService<DefinitionsWatch>() is { } watch ? builder.AddInterceptors(new DefinitionsCommitInterceptor(watch)) : builder;
}
