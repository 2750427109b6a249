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
        if (DefinitionChanges() is not { } changes)
        {
            return base.SaveChanges(acceptAllChangesOnSuccess);
        }

        if (Database.CurrentTransaction is not null)
        {
            var version = BumpDefinitionsVersion(changes.FullReload);
            var saved = base.SaveChanges(acceptAllChangesOnSuccess);
            StampWorkflows(changes, version);
            return saved;
        }

        using var transaction = Database.BeginTransaction();
        var bumped = BumpDefinitionsVersion(changes.FullReload);
        var count = base.SaveChanges(acceptAllChangesOnSuccess: false);
        StampWorkflows(changes, bumped);
        transaction.Commit();
        if (acceptAllChangesOnSuccess)
        {
            ChangeTracker.AcceptAllChanges();
        }

        return count;
    }

    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        if (DefinitionChanges() is not { } changes)
        {
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }

        if (Database.CurrentTransaction is not null)
        {
            var version = await BumpDefinitionsVersionAsync(changes.FullReload, cancellationToken);
            var saved = await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
            await StampWorkflowsAsync(changes, version, cancellationToken);
            return saved;
        }

        await using var transaction = await Database.BeginTransactionAsync(cancellationToken);
        var bumped = await BumpDefinitionsVersionAsync(changes.FullReload, cancellationToken);
        var count = await base.SaveChangesAsync(acceptAllChangesOnSuccess: false, cancellationToken);
        await StampWorkflowsAsync(changes, bumped, cancellationToken);
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

    /// <summary>
    /// The workflows and steps this save changes, or null when it changes none. Taken before the save, read after it
    /// (a new workflow has its id only then).
    /// </summary>
    private PendingDefinitions? DefinitionChanges()
    {
        List<object>? changed = null;
        var fullReload = false;
        foreach (var entry in ChangeTracker.Entries())
        {
            if (entry.Entity is Workflow or WorkflowAction && entry.State is EntityState.Added or EntityState.Modified or EntityState.Deleted)
            {
                (changed ??= []).Add(entry.Entity);
                // A deleted workflow row leaves nothing to stamp: workers cannot find it by its version, so they reload in full.
                fullReload |= entry.Entity is Workflow && entry.State == EntityState.Deleted;
            }
        }

        return changed is null ? null : new PendingDefinitions(changed, fullReload);
    }

    private sealed record PendingDefinitions(List<object> Entities, bool FullReload)
    {
        public List<long> WorkflowIds() =>
            [.. Entities.Select(e => e is Workflow w ? w.Id : ((WorkflowAction)e).WorkflowId).Distinct()];
    }

    /// <summary>
    /// Tells every worker's trigger index to reload in full. SaveChanges bumps the version by itself when workflows or
    /// actions change (and stamps the workflows, so workers reload only those); call this (first, in the same
    /// transaction) after changing them with ExecuteUpdate/ExecuteDelete or raw SQL.
    /// </summary>
    public Task<long> BumpDefinitionsVersionAsync(CancellationToken cancellationToken) => BumpDefinitionsVersionAsync(fullReload: true, cancellationToken);

    // The bump comes first in its transaction and is an UPDATE of one row: it holds that row's lock until the commit, so
    // a second bump waits for the first to commit, and versions commit in their order. A worker that reads version 11
    // therefore finds every workflow stamped 10 already committed, and never skips it.
    private async Task<long> BumpDefinitionsVersionAsync(bool fullReload, CancellationToken cancellationToken)
    {
        DefinitionsBumped = true;
        var row = DefinitionsVersions.Where(v => v.Id == DefinitionsVersion.RowId);
        await (fullReload
            ? row.ExecuteUpdateAsync(s => s.SetProperty(v => v.Version, v => v.Version + 1).SetProperty(v => v.FullReloadVersion, v => v.Version + 1), cancellationToken)
            : row.ExecuteUpdateAsync(s => s.SetProperty(v => v.Version, v => v.Version + 1), cancellationToken));
        return Provider == StorageProvider.Postgres
            ? await Database.SqlQueryRaw<long>(NotifyingVersionSql).FirstAsync(cancellationToken)
            : await row.Select(v => v.Version).FirstAsync(cancellationToken);
    }

    /// <summary>
    /// PostgreSQL: the new version, read with a notification to every worker listening on <see cref="DefinitionsChannel"/>;
    /// PostgreSQL sends it when the transaction commits (none if it rolls back), so a worker never hears of a change it
    /// cannot read yet.
    /// </summary>
    private const string NotifyingVersionSql =
        "SELECT v.version AS \"Value\" FROM definitions_version AS v, pg_notify('" + DefinitionsChannel + "', v.version::text) WHERE v.id = 1";

    /// <summary>The PostgreSQL channel a definitions change is notified on (its payload: the new version).</summary>
    public const string DefinitionsChannel = "actionflow_definitions";

    /// <summary>Set by a definitions version bump; read (and cleared) when its transaction ends (<see cref="DefinitionsCommitInterceptor"/>).</summary>
    internal bool DefinitionsBumped { get; set; }

    private long BumpDefinitionsVersion(bool fullReload)
    {
        DefinitionsBumped = true;
        var row = DefinitionsVersions.Where(v => v.Id == DefinitionsVersion.RowId);
        _ = fullReload
            ? row.ExecuteUpdate(s => s.SetProperty(v => v.Version, v => v.Version + 1).SetProperty(v => v.FullReloadVersion, v => v.Version + 1))
            : row.ExecuteUpdate(s => s.SetProperty(v => v.Version, v => v.Version + 1));
        return Provider == StorageProvider.Postgres
            ? Database.SqlQueryRaw<long>(NotifyingVersionSql).First()
            : row.Select(v => v.Version).First();
    }

    private Task<int> StampWorkflowsAsync(PendingDefinitions changes, long version, CancellationToken cancellationToken)
    {
        var ids = changes.WorkflowIds();
        return Workflows.Where(w => ids.Contains(w.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(w => EF.Property<long>(w, WorkflowConfiguration.DefinitionsVersionProperty), version), cancellationToken);
    }

    private int StampWorkflows(PendingDefinitions changes, long version)
    {
        var ids = changes.WorkflowIds();
        return Workflows.Where(w => ids.Contains(w.Id))
            .ExecuteUpdate(s => s.SetProperty(w => EF.Property<long>(w, WorkflowConfiguration.DefinitionsVersionProperty), version));
    }
}
