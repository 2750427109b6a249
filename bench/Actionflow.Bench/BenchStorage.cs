using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Actionflow.Bench;

/// <summary>A workflow to create: its project and the event name of each step (all steps are <c>noop</c>).</summary>
/// <param name="FirstTrigger">The first step's whole <c>trigger_data</c> (a schedule, a window), when more than an event name.</param>
internal sealed record WorkflowSpec(long ProjectId, string Name, IReadOnlyList<string> StepEvents, JsonObject? FirstTrigger = null);

/// <summary>The scenario's database through Actionflow's own storage layer: migrations, definitions, results.</summary>
internal sealed class BenchStorage : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public BenchStorage(string connectionString)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddActionflowStorage(new StorageOptions { ConnectionString = connectionString });
        _services = services.BuildServiceProvider();
    }

    public IDbContextFactory<ActionflowDbContext> Contexts => _services.GetRequiredService<IDbContextFactory<ActionflowDbContext>>();

    public IEmbeddedQueueStore EmbeddedQueue => _services.GetRequiredService<IEmbeddedQueueStore>();

    public Task MigrateAsync() => _services.GetRequiredService<IDatabaseMigrator>().MigrateAsync(CancellationToken.None);

    public async Task<long[]> CreateProjectsAsync(string prefix, int count)
    {
        var projects = Enumerable.Range(0, count)
            .Select(i => new Project { StringId = $"{prefix}-{i}", Name = $"{prefix} {i}", TimeCreated = DateTime.UtcNow })
            .ToList();
        foreach (var chunk in projects.Chunk(1000))
        {
            await using var db = await Contexts.CreateDbContextAsync();
            db.AddRange(chunk);
            await db.SaveChangesAsync();
        }

        return [.. projects.Select(p => p.Id)];
    }

    /// <summary>Creates the workflows (active) with their noop steps, in chunks; returns the step ids per workflow, in order.</summary>
    public async Task<List<long[]>> CreateWorkflowsAsync(IReadOnlyList<WorkflowSpec> specs)
    {
        var result = new List<long[]>(specs.Count);
        foreach (var chunk in specs.Chunk(1000))
        {
            await using var db = await Contexts.CreateDbContextAsync();
            var now = DateTime.UtcNow;
            var workflows = chunk
                .Select(s => new Workflow { ProjectId = s.ProjectId, Name = s.Name, Active = true, TimeCreated = now, TimeUpdated = now })
                .ToList();
            db.AddRange(workflows);
            await db.SaveChangesAsync();

            var steps = new List<WorkflowAction[]>(chunk.Length);
            for (var w = 0; w < chunk.Length; w++)
            {
                var spec = chunk[w];
                var actions = spec.StepEvents
                    .Select((eventName, ordinal) => new WorkflowAction
                    {
                        ProjectId = spec.ProjectId,
                        WorkflowId = workflows[w].Id,
                        Kind = "noop",
                        PublicName = $"noop #{ordinal}",
                        Ordinal = ordinal,
                        TriggerData = ordinal == 0 && spec.FirstTrigger is { } first ? (JsonObject)first.DeepClone() : new JsonObject { ["event_name"] = eventName },
                        ConfigData = [],
                        TimeCreated = now,
                        TimeUpdated = now,
                    })
                    .ToArray();
                db.AddRange(actions);
                steps.Add(actions);
            }

            await db.SaveChangesAsync();
            // Scheduled as the API schedules an activated workflow.
            foreach (var workflow in workflows.Where((_, w) => chunk[w].FirstTrigger?["cron_expression"] is not null))
            {
                await Actionflow.Storage.Stores.ScheduleSync.SyncAsync(db, workflow.Id, now, CancellationToken.None);
            }

            result.AddRange(steps.Select(s => s.Select(a => a.Id).ToArray()));
        }

        return result;
    }

    /// <summary>An Editor API key of <paramref name="projectId"/> (stored as the API stores one: the secret's SHA-256); returns the secret.</summary>
    public async Task<string> CreateApiKeyAsync(long projectId)
    {
        var secret = "afsk_bench_" + Guid.NewGuid().ToString("N");
        await using var db = await Contexts.CreateDbContextAsync();
        db.ApiKeys.Add(new ApiKey
        {
            ProjectId = projectId,
            ClientId = "af_bench" + Guid.NewGuid().ToString("N")[..16],
            SecretHash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)),
            Role = ApiKeyRole.Editor,
            TimeCreated = DateTime.UtcNow,
        });
        await db.SaveChangesAsync();
        return secret;
    }

    /// <summary>The string id of a project (the API's route names projects by it).</summary>
    public async Task<string> ProjectStringIdAsync(long projectId)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        return await db.Projects.Where(p => p.Id == projectId).Select(p => p.StringId).SingleAsync();
    }

    /// <summary>Succeeded runs of one project, and how many distinct events they belong to.</summary>
    public async Task<(long Runs, long Events)> CountSucceededAsync(long projectId)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        var runs = db.ActionRuns.Where(r => r.ProjectId == projectId && r.Status == ActionRunStatus.Succeeded);
        return (await runs.LongCountAsync(), await runs.Select(r => r.EventId).Distinct().LongCountAsync());
    }

    /// <summary>Changes one step (a filter, depends_on) through the model, as the API would save it.</summary>
    public async Task ChangeStepAsync(long actionId, Action<WorkflowAction> change)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        var step = await db.Actions.SingleAsync(a => a.Id == actionId);
        change(step);
        // A changed JSON tree is not seen by the change tracker when changed in place.
        db.Entry(step).Property(a => a.TriggerData).IsModified = true;
        await db.SaveChangesAsync();
    }

    /// <summary>Each <c>time_trigger</c> event: the step it fired, its tick and when it fired.</summary>
    public async Task<List<(long EventId, long ActionId, DateTime ScheduledAt, DateTime FiredAt)>> LoadFiresAsync()
    {
        await using var db = await Contexts.CreateDbContextAsync();
        var rows = await db.Events.AsNoTracking().Where(e => e.Kind == "time_trigger").Select(e => new { e.Id, e.ActionId, e.ExtraMetadata }).ToListAsync();
        return [.. rows.Select(r => (r.Id, r.ActionId ?? 0, Utc(r.ExtraMetadata["scheduled_at"]), Utc(r.ExtraMetadata["fired_at"])))];

        static DateTime Utc(JsonNode? node) => DateTime.Parse((string)node!, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
    }

    /// <summary>Every run's event and finish time, by status.</summary>
    public async Task<List<(long EventId, ActionRunStatus Status, DateTime? Finished)>> LoadRunsAsync(long projectId)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(5));
        var rows = await db.ActionRuns.AsNoTracking().Where(r => r.ProjectId == projectId).Select(r => new { r.EventId, r.Status, r.FinishedAt }).ToListAsync();
        return [.. rows.Select(r => (r.EventId, r.Status, r.FinishedAt))];
    }

    /// <summary>The events a window's runs were for: each run event's members (event ids), and the sender's ids of the events.</summary>
    public async Task<(Dictionary<long, long[]> Members, Dictionary<long, long> SourceIds)> LoadWindowEventsAsync(long projectId)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(5));
        var windows = await db.Events.AsNoTracking().Where(e => e.ProjectId == projectId && e.Source == EventSources.Window).Select(e => new { e.Id, e.ExtraMetadata }).ToListAsync();
        var sources = await db.Events.AsNoTracking().Where(e => e.ProjectId == projectId && e.DedupKey != null).Select(e => new { e.Id, e.DedupKey }).ToListAsync();
        return (windows.ToDictionary(w => w.Id, w => w.ExtraMetadata["window"]!["event_ids"]!.AsArray().Select(id => (long)id!).ToArray()),
            sources.ToDictionary(s => s.Id, s => SourceId(s.DedupKey)));
    }

    /// <summary>Action runs by status, over the whole database.</summary>
    public async Task<RunCounts> CountRunsAsync(CancellationToken cancellationToken)
    {
        await using var db = await Contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.ActionRuns
            .GroupBy(r => r.Status)
            .Select(g => new { g.Key, Count = g.Count() })
            .ToListAsync(cancellationToken);
        long Of(ActionRunStatus s) => rows.Where(r => r.Key == s).Sum(r => (long)r.Count);
        return new RunCounts(Of(ActionRunStatus.Succeeded), Of(ActionRunStatus.Failed) + Of(ActionRunStatus.Skipped), Of(ActionRunStatus.Pending) + Of(ActionRunStatus.Running));
    }

    /// <summary>
    /// Every succeeded run outside the warm-up project, with the sender's id of the event that started its workflow
    /// run (Diffgram's <c>id</c>, kept as the dedup key) and the stage times.
    /// </summary>
    public async Task<List<RunTiming>> LoadTimingsAsync(long excludedProjectId)
    {
        await using var db = await Contexts.CreateDbContextAsync();
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(5));
        var rows = await (
                from r in db.ActionRuns.AsNoTracking()
                where r.Status == ActionRunStatus.Succeeded && r.ProjectId != excludedProjectId
                join w in db.WorkflowRuns on r.WorkflowRunId equals w.Id
                join e in db.Events on w.RootEventId equals e.Id
                select new { e.DedupKey, Received = e.TimeCreated, r.StartedAt, r.FinishedAt })
            .ToListAsync();
        return [.. rows.Select(r => new RunTiming(SourceId(r.DedupKey), r.Received, r.StartedAt, r.FinishedAt ?? DateTime.MinValue))];
    }

    /// <summary>
    /// PostgreSQL: <c>ANALYZE</c> of the whole database, so the measured phase plans with statistics of tables that hold
    /// rows, as a running installation's do. Without it the run tables of a new database have none until autovacuum
    /// visits it (once a minute at best, later when it is busy with 100,000 new definitions), and a phase ran at
    /// twice PostgreSQL's CPU per event or not, by when that happened. Null on SQLite; else the seconds it took.
    /// </summary>
    public async Task<double?> AnalyzeAsync()
    {
        await using var db = await Contexts.CreateDbContextAsync();
        if (db.Provider != StorageProvider.Postgres)
        {
            return null;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await db.Database.ExecuteSqlRawAsync("ANALYZE");
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>PostgreSQL's counters for this database (transactions, rows written); null on SQLite.</summary>
    public async Task<DatabaseCounters?> ReadDatabaseCountersAsync()
    {
        await using var db = await Contexts.CreateDbContextAsync();
        if (db.Provider != StorageProvider.Postgres)
        {
            return null;
        }

        // Statistics reach pg_stat_database about once a second; the measured interval is much longer.
        return await db.Database
            .SqlQueryRaw<DatabaseCounters>(
                "SELECT d.xact_commit + d.xact_rollback AS \"Transactions\", d.tup_inserted AS \"Inserted\", d.tup_updated AS \"Updated\", d.tup_deleted AS \"Deleted\", " +
                "b.checkpoints_timed + b.checkpoints_req AS \"Checkpoints\", b.buffers_backend AS \"BackendWrites\", w.wal_bytes::bigint AS \"WalBytes\", w.wal_fpi AS \"WalFullPages\", " +
                "(SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0)::bigint FROM pg_stat_user_tables) AS \"Autovacuums\", " +
                "(SELECT coalesce(sum(seq_tup_read), 0)::bigint FROM pg_stat_user_tables) AS \"SeqScanRows\" " +
                "FROM pg_stat_database d, pg_stat_bgwriter b, pg_stat_wal w WHERE d.datname = current_database()")
            .SingleAsync();
    }

    /// <summary>The benchmark's id of an event: Diffgram's <c>id</c> (<c>source:N</c>), or the idempotency key of an HTTP one (<c>api:bench-N</c>).</summary>
    private static long SourceId(string? dedupKey) => dedupKey switch
    {
        not null when dedupKey.StartsWith(SourcePrefix, StringComparison.Ordinal) && long.TryParse(dedupKey.AsSpan(SourcePrefix.Length), out var id) => id,
        not null when dedupKey.StartsWith(HttpPrefix, StringComparison.Ordinal) && long.TryParse(dedupKey.AsSpan(HttpPrefix.Length), out var id) => id,
        _ => -1,
    };

    private const string SourcePrefix = "source:";
    private const string HttpPrefix = "api:" + HttpEventFeed.KeyPrefix;

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}

/// <summary>Counters of the scenario's database, and of the whole server (checkpoints, backend buffer writes, WAL).</summary>
internal sealed record DatabaseCounters(long Transactions, long Inserted, long Updated, long Deleted, long Checkpoints, long BackendWrites, long WalBytes, long WalFullPages, long Autovacuums, long SeqScanRows)
{
    public string PerEvent(DatabaseCounters before, int events) => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"per event: {(double)(Transactions - before.Transactions) / events:F1} transactions, rows {(double)(Inserted - before.Inserted) / events:F1} inserted, " +
        $"{(double)(Updated - before.Updated) / events:F1} updated, {(double)(Deleted - before.Deleted) / events:F1} deleted (bench's own polling included); " +
        $"server-wide: {Checkpoints - before.Checkpoints} checkpoints, WAL {(double)(WalBytes - before.WalBytes) / events:F0} bytes and " +
        $"{(double)(WalFullPages - before.WalFullPages) / events:F2} full pages per event, {BackendWrites - before.BackendWrites} buffers written by backends; " +
        $"{Autovacuums - before.Autovacuums} autovacuum/autoanalyze passes finished on this database, " +
        $"{(double)(SeqScanRows - before.SeqScanRows) / events:F0} rows read by sequential scans per event (the bench's once-a-second count included)");
}

internal sealed record RunCounts(long Succeeded, long FailedOrSkipped, long Unfinished)
{
    public long Total => Succeeded + FailedOrSkipped + Unfinished;
}

/// <summary>One succeeded run: the sender's event id of its root event, when that event was received, and the run's start and finish.</summary>
internal sealed record RunTiming(long SourceEventId, DateTime Received, DateTime? Started, DateTime Finished);
