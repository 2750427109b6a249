using System.Globalization;
using System.Text;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Storage.Conversions;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Actionflow.Storage.Stores;

/// <summary>
/// SQLite's hot writes as raw commands on a context's connection, inside its open transaction: each statement is
/// prepared once (per batch) and run once per row. The rows are the ones EF wrote through change tracking (every mapped
/// column, converted as the model converts it: UTC times as SQLite text, enums as their lower-case names, JSON as text);
/// the change tracker's snapshots and JSON comparisons were most of the embedded path's CPU and allocation.
/// </summary>
internal sealed class SqlitePipelineWrites : IDisposable
{
    private const string InsertEventSql = """
        INSERT INTO events (project_id, kind, workflow_id, action_id, file_id, task_id, job_id, directory_id, input_id,
                            member_id, description, error_log, extra_metadata, payload, source, dedup_key, workflow_run_id, time_created)
        VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10, $p11, $p12, $p13, $p14, $p15, $p16, $p17)
        RETURNING id
        """;

    private const string InsertWorkflowRunSql = """
        INSERT INTO workflow_runs (project_id, workflow_id, root_event_id, status, status_description, time_created, time_updated)
        VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6)
        RETURNING id
        """;

    private const string InsertActionRunSql = """
        INSERT INTO action_runs (project_id, workflow_id, action_id, workflow_run_id, event_id, kind, status, attempt, output,
                                 error_reason, error_type, time_created, started_at, finished_at, lease_until, worker_id,
                                 next_attempt_at, waited_until, concurrency_key, admitted_at)
        VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10, $p11, $p12, $p13, $p14, $p15, $p16, $p17, $p18, $p19)
        RETURNING id
        """;

    // Every column a run's end may change, from the values the batch read in this same transaction (one writer).
    private const string UpdateActionRunSql = """
        UPDATE action_runs SET status = $p1, attempt = $p2, output = $p3, error_reason = $p4, error_type = $p5, started_at = $p6,
                               finished_at = $p7, lease_until = $p8, worker_id = $p9, next_attempt_at = $p10, waited_until = $p11,
                               concurrency_key = $p12, admitted_at = $p13
        WHERE id = $p0
        """;

    private const string InsertAttemptSql = """
        INSERT INTO action_run_attempts (action_run_id, attempt, started_at, finished_at, status, error, error_type, worker_id, next_attempt_at)
        VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8)
        RETURNING id
        """;

    private const string InsertOutboxSql = """
        INSERT INTO outbox_messages (queue, body, headers, time_created, available_at, deliveries)
        VALUES ($p0, $p1, $p2, $p3, $p4, $p5)
        RETURNING id
        """;

    private const string InsertWindowEntrySql = """
        INSERT INTO window_entries (action_id, project_id, window_key, event_id, time_created)
        VALUES ($p0, $p1, $p2, $p3, $p4)
        RETURNING id
        """;

    private static readonly ILookup<long, ActionRun> NoRuns = Array.Empty<ActionRun>().ToLookup(r => r.EventId);
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _transaction;
    private Statement? _insertEvent;
    private Statement? _insertWorkflowRun;
    private Statement? _insertActionRun;
    private Statement? _updateActionRun;
    private Statement? _insertAttempt;
    private Statement? _insertOutbox;
    private Statement? _insertWindowEntry;

    private SqlitePipelineWrites(SqliteConnection connection, SqliteTransaction transaction)
    {
        _connection = connection;
        _transaction = transaction;
    }

    /// <summary>Writes on <paramref name="db"/>'s connection, in the transaction it has open.</summary>
    public static SqlitePipelineWrites In(ActionflowDbContext db) =>
        new((SqliteConnection)db.Database.GetDbConnection(),
            (SqliteTransaction)(db.Database.CurrentTransaction ?? throw new InvalidOperationException("no transaction is open")).GetDbTransaction());

    public void InsertEvent(Event e) =>
        e.Id = Prepared(ref _insertEvent, InsertEventSql, 18).Insert(
            e.ProjectId, e.Kind, e.WorkflowId, e.ActionId, e.FileId, e.TaskId, e.JobId, e.DirectoryId, e.InputId,
            e.MemberId, e.Description, e.ErrorLog, JsonObjectConverter.ToJson(e, EventJson.ExtraMetadata, static e => e.ExtraMetadata),
            JsonObjectConverter.ToJson(e, EventJson.Payload, static e => e.Payload),
            e.Source, e.DedupKey, e.WorkflowRunId, Utc(e.TimeCreated));

    public void InsertWorkflowRun(WorkflowRun w) =>
        w.Id = Prepared(ref _insertWorkflowRun, InsertWorkflowRunSql, 7).Insert(
            w.ProjectId, w.WorkflowId, w.RootEventId, EnumNames.ToDatabase(w.Status), w.StatusDescription, Utc(w.TimeCreated), Utc(w.TimeUpdated));

    public void InsertActionRun(ActionRun r) =>
        r.Id = Prepared(ref _insertActionRun, InsertActionRunSql, 20).Insert(
            r.ProjectId, r.WorkflowId, r.ActionId, r.WorkflowRunId, r.EventId, r.Kind, EnumNames.ToDatabase(r.Status), r.Attempt,
            Json(r.Output), r.ErrorReason, r.ErrorType, Utc(r.TimeCreated), Utc(r.StartedAt), Utc(r.FinishedAt), Utc(r.LeaseUntil),
            r.WorkerId, Utc(r.NextAttemptAt), Utc(r.WaitedUntil), r.ConcurrencyKey, Utc(r.AdmittedAt));

    public void UpdateActionRun(ActionRun r) =>
        Prepared(ref _updateActionRun, UpdateActionRunSql, 14).Execute(
            r.Id, EnumNames.ToDatabase(r.Status), r.Attempt, Json(r.Output), r.ErrorReason, r.ErrorType, Utc(r.StartedAt),
            Utc(r.FinishedAt), Utc(r.LeaseUntil), r.WorkerId, Utc(r.NextAttemptAt), Utc(r.WaitedUntil), r.ConcurrencyKey, Utc(r.AdmittedAt));

    public void InsertAttempt(ActionRunAttempt a) =>
        a.Id = Prepared(ref _insertAttempt, InsertAttemptSql, 9).Insert(
            a.ActionRunId, a.Attempt, Utc(a.StartedAt), Utc(a.FinishedAt), EnumNames.ToDatabase(a.Status), a.Error, a.ErrorType,
            a.WorkerId, Utc(a.NextAttemptAt));

    public void InsertOutbox(OutboxMessage m) =>
        m.Id = Prepared(ref _insertOutbox, InsertOutboxSql, 6).Insert(
            m.Queue, m.Body, m.Headers, Utc(m.TimeCreated), Utc(m.AvailableAt), m.Deliveries);

    public void InsertWindowEntry(WindowEntry e) =>
        e.Id = Prepared(ref _insertWindowEntry, InsertWindowEntrySql, 5).Insert(
            e.ActionId, e.ProjectId, e.WindowKey, e.EventId, Utc(e.TimeCreated));

    /// <summary>
    /// Per (inserted) event and matched step a window entry, or a run (pending with its trigger, held by the caller, or
    /// ended with its reason) in the event's own workflow run or in one it starts. Returns the held runs by event id.
    /// SQLite's only writer of runs: the accept's, and a schedule's or window's through <see cref="RunRows.AddAsync"/>.
    /// </summary>
    public ILookup<long, ActionRun> AddRuns(IReadOnlyList<(Event Event, IReadOnlyList<MatchedStep> Steps)> items)
    {
        var plan = RunPlan.For(items);
        plan.SetRoots();
        if (plan.Windowed.Count > 0)
        {
            foreach (var entry in plan.CreateEntries())
            {
                InsertWindowEntry(entry);
            }
        }

        foreach (var started in plan.NewWorkflowRuns)
        {
            InsertWorkflowRun(started);
        }

        if (plan.StepCount == 0)
        {
            return NoRuns;
        }

        var runs = plan.CreateRuns(_ => 0);
        foreach (var run in runs)
        {
            InsertActionRun(run);
        }

        foreach (var run in runs)
        {
            if (run.Status == ActionRunStatus.Pending)
            {
                // The run id lets the actions consumer claim runs of many deliveries in one statement.
                InsertOutbox(new TriggerMessage(run.EventId, run.ActionId, run.ProjectId, run.Id).ToOutbox(run.TimeCreated));
            }
        }

        return runs.Where(r => r.Status == ActionRunStatus.Running).ToLookup(r => r.EventId);
    }

    /// <summary>
    /// Sets <paramref name="status"/> on the workflow runs of <paramref name="ids"/> still in one of <paramref name="from"/>,
    /// and with <paramref name="afterAllBranches"/> only those with no run still in one of <paramref name="open"/>.
    /// </summary>
    public int SettleWorkflowRuns(
        IReadOnlyCollection<long> ids, WorkflowRunStatus status, DateTime at, IReadOnlyCollection<WorkflowRunStatus> from,
        bool afterAllBranches, IReadOnlyCollection<ActionRunStatus> open)
    {
        // The status lists are the engine's own enum names, never input: written as literals so the SQL stays the same per shape.
        var sql = new StringBuilder("UPDATE workflow_runs SET status = $p0, time_updated = $p1 WHERE id IN (SELECT value FROM json_each($p2)) AND status IN (")
            .AppendJoin(", ", from.Select(s => $"'{EnumNames.ToDatabase(s)}'"))
            .Append(')');
        if (afterAllBranches)
        {
            sql.Append(" AND NOT EXISTS (SELECT 1 FROM action_runs r WHERE r.workflow_run_id = workflow_runs.id AND r.status IN (")
                .AppendJoin(", ", open.Select(s => $"'{EnumNames.ToDatabase(s)}'"))
                .Append("))");
        }

        using var statement = new Statement(_connection, _transaction, sql.ToString(), 3);
        return statement.Execute(EnumNames.ToDatabase(status), Utc(at), IdArray(ids));
    }

    /// <summary>Ids as a JSON array, for <c>json_each</c>: one parameter however many.</summary>
    internal static string IdArray(IEnumerable<long> ids)
    {
        var text = new StringBuilder("[");
        foreach (var id in ids)
        {
            if (text.Length > 1)
            {
                text.Append(',');
            }

            text.Append(id.ToString(CultureInfo.InvariantCulture));
        }

        return text.Append(']').ToString();
    }

    public void Dispose()
    {
        _insertEvent?.Dispose();
        _insertWorkflowRun?.Dispose();
        _insertActionRun?.Dispose();
        _updateActionRun?.Dispose();
        _insertAttempt?.Dispose();
        _insertOutbox?.Dispose();
        _insertWindowEntry?.Dispose();
    }

    private Statement Prepared(ref Statement? statement, string sql, int parameters) =>
        statement ??= new Statement(_connection, _transaction, sql, parameters);

    private static string? Json(System.Text.Json.Nodes.JsonObject? value) => value is null ? null : JsonObjectConverter.ToJson(value);

    internal static DateTime Utc(DateTime value) => UtcDateTimeConverter.ToUtc(value);

    internal static DateTime? Utc(DateTime? value) => value is { } v ? UtcDateTimeConverter.ToUtc(v) : null;

    /// <summary>One prepared command with positional parameters <c>$p0</c>…; a constraint failure surfaces as EF's would.</summary>
    internal sealed class Statement : IDisposable
    {
        private readonly SqliteCommand _command;
        private readonly SqliteParameter[] _parameters;

        public Statement(SqliteConnection connection, SqliteTransaction? transaction, string sql, int parameters)
        {
            _command = connection.CreateCommand();
            _command.Transaction = transaction;
            _command.CommandText = sql;
            _parameters = new SqliteParameter[parameters];
            for (var i = 0; i < parameters; i++)
            {
                _parameters[i] = _command.Parameters.Add(new SqliteParameter { ParameterName = "$p" + i.ToString(CultureInfo.InvariantCulture) });
            }

            _command.Prepare();
        }

        public SqliteCommand Command => _command;

        /// <summary>Runs the insert and returns the id its <c>RETURNING id</c> gave.</summary>
        public long Insert(params ReadOnlySpan<object?> values)
        {
            Bind(values);
            try
            {
                return (long)_command.ExecuteScalar()!;
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                // Callers (the group commits' one-by-one retries) tell a lost race by DbErrors.IsUniqueViolation, as with EF.
                throw new DbUpdateException(ex.Message, ex);
            }
        }

        public int Execute(params ReadOnlySpan<object?> values)
        {
            Bind(values);
            try
            {
                return _command.ExecuteNonQuery();
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                throw new DbUpdateException(ex.Message, ex);
            }
        }

        public void Bind(ReadOnlySpan<object?> values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                _parameters[i].Value = values[i] ?? DBNull.Value;
            }
        }

        public void Dispose() => _command.Dispose();
    }
}
