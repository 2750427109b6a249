using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Xunit;

namespace Actionflow.Storage.Tests;

/// <summary>
/// The hot writes are prepared statements, and PostgreSQL may keep one plan per statement for as long as the connection
/// lives. A plan chosen while the tables were nearly empty must not go on scanning them whole once they have grown.
/// </summary>
public sealed class PostgresPlanTests(PostgresHost host) : StorageTestBase(host), IClassFixture<PostgresHost>
{
    [Fact]
    public async Task CompleteRunAsync_PreparedWhileTablesWereTiny_StillFindsRunsByKeyOnceTheyHaveGrown()
    {
        // Autovacuum would analyze the grown tables sooner or later, and PostgreSQL replan then: the test is of the time before.
        await ExecuteAsync("ALTER TABLE action_runs SET (autovacuum_enabled = false); ALTER TABLE workflow_runs SET (autovacuum_enabled = false); " +
            "ALTER TABLE events SET (autovacuum_enabled = false)");
        var step = new MatchedStep(11, 1, "webhook") with { HeldBy = W1Lease };

        // Rounds of batched completions on tiny tables: enough executions, with arrays long enough, for PostgreSQL to
        // settle on a generic plan for each statement on every pooled connection.
        var round = 0;
        for (; round < 15; round++)
        {
            await CompleteRoundAsync(round, step);
        }

        const int history = 30_000;
        await GrowTablesAsync(history);
        // Statistics reach pg_stat_user_tables some time after the session that made them goes idle or ends.
        var before = await StatisticsOnceAsync(c => c.Inserted >= history + (round * 40) && c.Updated >= 2 * round * 40);
        var held = await AcceptRoundAsync(round, step);
        await Task.WhenAll(held.Select(CompleteAsync));
        var after = await StatisticsOnceAsync(c => c.Inserted >= before.Inserted + held.Count && c.Updated >= before.Updated + (2 * held.Count));

        Assert.Equal((0L, 0L), (after.ActionRunsSeqScans - before.ActionRunsSeqScans, after.WorkflowRunsSeqScans - before.WorkflowRunsSeqScans));
    }

    [Fact]
    public async Task CompleteRunAsync_StatisticsSawNoRunRunning_ReadsEachEndedRunByItsKeyNotEveryRunningRun()
    {
        var (held, before) = await BurstAfterStatisticsSawNoneRunningAsync();
        const int ending = 40;
        await Task.WhenAll(held.Take(ending).Select(CompleteAsync));
        var after = await StatisticsOnceAsync(c => c.Updated >= before.Updated + (2 * ending));

        // By key, ending a run reads about ten index entries: its own, for each statement that ends it or writes what hangs
        // on it (and the attempt's foreign key), and its workflow run's runs. Read by status, it reads every running run
        // for each batch it ends and for each workflow run it settles: tens of thousands here.
        Assert.InRange(after.ActionRunsIndexReads - before.ActionRunsIndexReads, ending, 20 * ending);
    }

    [Fact]
    public async Task RenewLeasesAsync_StatisticsSawNoRunRunning_ReadsEachRenewedRunByItsKeyNotEveryRunningRun()
    {
        var (held, before) = await BurstAfterStatisticsSawNoneRunningAsync();
        const int renewing = 40;
        await Pipeline.RenewLeasesAsync([.. held.Take(renewing).Select(r => r.Id)], "w1", T0.AddMinutes(10), default);
        var after = await StatisticsOnceAsync(c => c.Updated >= before.Updated + renewing);

        // By key, a renewal reads each run's entry twice (to lock it, then to update it); from the running runs' index it
        // would read all 2,000 of them.
        Assert.InRange(after.ActionRunsIndexReads - before.ActionRunsIndexReads, renewing, 4 * renewing);
        await using var db = await Db.ContextAsync();
        Assert.Equal(renewing, await db.ActionRuns.CountAsync(r => r.LeaseUntil == T0.AddMinutes(10)));
    }

    /// <summary>
    /// Finished history analyzed while no run was running (statistics taken between two bursts), then a burst of 2,000
    /// runs held by <c>w1</c>: the runs, and the tables' counts once the burst's writes show in them.
    /// </summary>
    private async Task<(List<ActionRun> Held, TableCounts Before)> BurstAfterStatisticsSawNoneRunningAsync()
    {
        await ExecuteAsync("ALTER TABLE action_runs SET (autovacuum_enabled = false); ALTER TABLE workflow_runs SET (autovacuum_enabled = false); " +
            "ALTER TABLE events SET (autovacuum_enabled = false)");
        const int history = 5_000;
        await GrowTablesAsync(history);
        await ExecuteAsync("ANALYZE action_runs; ANALYZE workflow_runs; ANALYZE events");
        var step = new MatchedStep(11, 1, "webhook") with { HeldBy = W1Lease };

        var held = new List<ActionRun>();
        for (var round = 0; round < 50; round++)
        {
            held.AddRange(await AcceptRoundAsync(round, step));
        }

        return (held, await StatisticsOnceAsync(c => c.Inserted >= history + held.Count));
    }

    private async Task CompleteRoundAsync(int round, MatchedStep step)
    {
        var held = await AcceptRoundAsync(round, step);
        await Task.WhenAll(held.Select(CompleteAsync));
    }

    private async Task<List<ActionRun>> AcceptRoundAsync(int round, MatchedStep step)
    {
        var accepted = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Pipeline.AcceptEventAsync(NewEvent(7, dedupKey: $"r{round}-{i}"), [step], default)));
        return [.. accepted.SelectMany(a => a.HeldRuns)];
    }

    private async Task CompleteAsync(ActionRun run)
    {
        var completion = new RunCompletion(run.Id, "w1", ActionRunStatus.Succeeded, null, null, null, T0.AddSeconds(1), WorkflowRunStatus.Succeeded,
            Attempt: new ActionRunAttempt { Attempt = 1, StartedAt = T0, FinishedAt = T0.AddSeconds(1), Status = ActionRunStatus.Succeeded, WorkerId = "w1" });
        Assert.True((await Pipeline.CompleteRunAsync(completion, null, [], default)).Recorded);
    }

    /// <summary>Finished history, as weeks of use would leave it: events, their workflow runs and runs.</summary>
    private Task GrowTablesAsync(int rows) => ExecuteAsync(
            $$"""
            INSERT INTO events (project_id, kind, payload, extra_metadata, source, time_created)
            SELECT 8, 'input_file_uploaded', '{}'::jsonb, '{}'::jsonb, 'history', now() FROM generate_series(1, {{rows}});
            INSERT INTO workflow_runs (project_id, workflow_id, root_event_id, status, time_created, time_updated)
            SELECT 8, 1, id, 'succeeded', now(), now() FROM events WHERE source = 'history';
            INSERT INTO action_runs (project_id, workflow_id, action_id, workflow_run_id, event_id, kind, status, attempt, time_created)
            SELECT 8, 1, 11, w.id, w.root_event_id, 'webhook', 'succeeded', 1, now() FROM workflow_runs w WHERE w.project_id = 8;
            """);

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Unpooled);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<TableCounts> StatisticsOnceAsync(Func<TableCounts, bool> arrived)
    {
        for (var wait = 0; wait < 150; wait++)
        {
            var counts = await TableCountsAsync();
            if (arrived(counts))
            {
                return counts;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the statistics of the writes never reached pg_stat_user_tables");
    }

    /// <summary>Sequential scans of the two tables, rows inserted into workflow runs, rows updated in both, index entries of runs read.</summary>
    private async Task<TableCounts> TableCountsAsync()
    {
        await using var connection = new NpgsqlConnection(Unpooled);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT coalesce(sum(seq_scan) FILTER (WHERE relname = 'action_runs'), 0)::bigint,
                   coalesce(sum(seq_scan) FILTER (WHERE relname = 'workflow_runs'), 0)::bigint,
                   coalesce(sum(n_tup_ins) FILTER (WHERE relname = 'workflow_runs'), 0)::bigint,
                   coalesce(sum(n_tup_upd) FILTER (WHERE relname IN ('action_runs', 'workflow_runs')), 0)::bigint,
                   (SELECT coalesce(sum(idx_tup_read), 0)::bigint FROM pg_stat_user_indexes WHERE relname = 'action_runs')
            FROM pg_stat_user_tables
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new TableCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    /// <summary>A session of its own, ended on close, so its statistics are sent at once.</summary>
    private string Unpooled => new NpgsqlConnectionStringBuilder(Db.ConnectionString) { Pooling = false }.ConnectionString;

    private sealed record TableCounts(long ActionRunsSeqScans, long WorkflowRunsSeqScans, long Inserted, long Updated, long ActionRunsIndexReads);
}
