using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Storage.Configurations;
using Actionflow.Storage.Conversions;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage;

/// <summary>
/// The Actionflow schema. Each provider has its own derived type (<see cref="PostgresActionflowDbContext"/>,
/// <see cref="SqliteActionflowDbContext"/>) so each keeps its own model and migrations. At run time each runs on its
/// compiled model (<c>CompiledModels/</c>, found through its <c>[assembly: DbContextModel]</c> attribute, so nothing
/// builds the model at start); <c>scripts/regen-compiled-models.sh</c> regenerates them after a model change.
/// </summary>
public abstract class ActionflowDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Project> Projects => Set<Project>();

    public DbSet<Workflow> Workflows => Set<Workflow>();

    public DbSet<WorkflowAction> Actions => Set<WorkflowAction>();

    public DbSet<ActionTemplate> ActionTemplates => Set<ActionTemplate>();

    public DbSet<WorkflowRun> WorkflowRuns => Set<WorkflowRun>();

    public DbSet<ActionRun> ActionRuns => Set<ActionRun>();

    public DbSet<ActionRunAttempt> ActionRunAttempts => Set<ActionRunAttempt>();

    public DbSet<Event> Events => Set<Event>();

    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();

    public DbSet<DeadLetter> DeadLetters => Set<DeadLetter>();

    public DbSet<DefinitionsVersion> DefinitionsVersions => Set<DefinitionsVersion>();

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<ProjectSecret> Secrets => Set<ProjectSecret>();

    public DbSet<Schedule> Schedules => Set<Schedule>();

    public DbSet<StepWindow> Windows => Set<StepWindow>();

    public DbSet<WindowEntry> WindowEntries => Set<WindowEntry>();

    public DbSet<JoinState> JoinStates => Set<JoinState>();

    public abstract StorageProvider Provider { get; }

    /// <summary>
    /// Warnings both providers configure: Migrate's check of the model against the last migration's snapshot is off,
    /// because EF Core builds the whole model from the configuration to make it (the compiled model cannot stand in),
    /// seconds of a start on a new database. MigrationTests (<c>HasPendingModelChanges</c>) and CompiledModelTests make
    /// the same check before anything ships.
    /// </summary>
    /// <summary>
    /// Warnings of both contexts: the pending-model check is the migrator's business; a row limit without an order
    /// (Take after Distinct, say) picks arbitrary rows, so it fails the query where a test runs it, not in a log line.
    /// </summary>
    internal static void StartWarnings(Microsoft.EntityFrameworkCore.Diagnostics.WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning)
            .Throw(Microsoft.EntityFrameworkCore.Diagnostics.CoreEventId.RowLimitingOperationWithoutOrderByWarning);

    /// <summary>The column type of JSON documents on this provider.</summary>
    protected abstract string JsonColumnType { get; }

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        if (!ChangesDefinitions())
        {
            return base.SaveChanges(acceptAllChangesOnSuccess);
        }

        if (Database.CurrentTransaction is not null)
        {
            var saved = base.SaveChanges(acceptAllChangesOnSuccess);
            BumpDefinitionsVersion();
            return saved;
        }

        using var transaction = Database.BeginTransaction();
        var count = base.SaveChanges(acceptAllChangesOnSuccess: false);
        BumpDefinitionsVersion();
        transaction.Commit();
        if (acceptAllChangesOnSuccess)
        {
            ChangeTracker.AcceptAllChanges();
        }

        return count;
    }

    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        if (!ChangesDefinitions())
        {
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }

        if (Database.CurrentTransaction is not null)
        {
            var saved = await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
            await BumpDefinitionsVersionAsync(cancellationToken);
            return saved;
        }

        await using var transaction = await Database.BeginTransactionAsync(cancellationToken);
        var count = await base.SaveChangesAsync(acceptAllChangesOnSuccess: false, cancellationToken);
        await BumpDefinitionsVersionAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (acceptAllChangesOnSuccess)
        {
            ChangeTracker.AcceptAllChanges();
        }

        return count;
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<JsonObject>().HaveConversion<JsonObjectConverter, JsonObjectComparer>().HaveColumnType(JsonColumnType);
        configurationBuilder.Properties<ActionRunStatus>().HaveConversion<LowercaseEnumConverter<ActionRunStatus>>();
        configurationBuilder.Properties<WorkflowRunStatus>().HaveConversion<LowercaseEnumConverter<WorkflowRunStatus>>();
        configurationBuilder.Properties<ApiKeyRole>().HaveConversion<LowercaseEnumConverter<ApiKeyRole>>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder
            .ApplyConfiguration(new ProjectConfiguration())
            .ApplyConfiguration(new WorkflowConfiguration())
            .ApplyConfiguration(new WorkflowActionConfiguration())
            .ApplyConfiguration(new ActionTemplateConfiguration())
            .ApplyConfiguration(new WorkflowRunConfiguration())
            .ApplyConfiguration(new ActionRunConfiguration())
            .ApplyConfiguration(new ActionRunAttemptConfiguration())
            .ApplyConfiguration(new EventConfiguration())
            .ApplyConfiguration(new OutboxMessageConfiguration())
            .ApplyConfiguration(new DeadLetterConfiguration())
            .ApplyConfiguration(new DefinitionsVersionConfiguration())
            .ApplyConfiguration(new ApiKeyConfiguration())
            .ApplyConfiguration(new ScheduleConfiguration())
            .ApplyConfiguration(new StepWindowConfiguration())
            .ApplyConfiguration(new WindowEntryConfiguration())
            .ApplyConfiguration(new JoinStateConfiguration())
            .ApplyConfiguration(new ProjectSecretConfiguration());
        SnakeCaseNaming.Apply(modelBuilder);
    }

    private bool ChangesDefinitions() =>
        ChangeTracker.Entries().Any(e =>
            e.Entity is Workflow or WorkflowAction && e.State is EntityState.Added or EntityState.Modified or EntityState.Deleted);

    /// <summary>
    /// Tells every worker's trigger index to reload. SaveChanges does it by itself when workflows or actions change;
    /// call it (in the same transaction) after changing them with ExecuteUpdate/ExecuteDelete or raw SQL.
    /// </summary>
    public Task<int> BumpDefinitionsVersionAsync(CancellationToken cancellationToken) =>
        DefinitionsVersions.Where(v => v.Id == DefinitionsVersion.RowId)
            .ExecuteUpdateAsync(s => s.SetProperty(v => v.Version, v => v.Version + 1), cancellationToken);

    private int BumpDefinitionsVersion() =>
        DefinitionsVersions.Where(v => v.Id == DefinitionsVersion.RowId)
            .ExecuteUpdate(s => s.SetProperty(v => v.Version, v => v.Version + 1));
}
