using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.FlowControl;
using Actionflow.Core.Engine;
using Actionflow.Storage.Conversions;
using Npgsql;
using NpgsqlTypes;

namespace Actionflow.Storage.Stores;

/// <summary>
/// The pipeline's two hot writes on PostgreSQL, as set-based SQL with one array parameter per column instead of one
/// parameter per value. Ids come from the tables' own identity sequences first, so every row of a batch is known
/// before it is sent and all of its inserts travel together: accepting a batch of events costs two round trips (one
/// when every step runs here), ending a batch of runs two as well (one when it starts no step and retries nothing).
/// The SQL text never depends on the batch size, so PostgreSQL prepares each once.
/// </summary>
internal static class PostgresPipelineWrites
{
    // The next id of a table's identity sequence. The sequence is looked up by its table once per statement (an
    // uncorrelated subquery is an InitPlan, run once), not once per row as pg_get_serial_sequence in the select list
    // would be: that lookup is a catalog search per call, five times the cost of nextval itself.
    private const string NextEventId = "nextval((SELECT pg_get_serial_sequence('events', 'id')::regclass))";
    private const string NextWorkflowRunId = "nextval((SELECT pg_get_serial_sequence('workflow_runs', 'id')::regclass))";
    private const string NextActionRunId = "nextval((SELECT pg_get_serial_sequence('action_runs', 'id')::regclass))";

    private const string AllocateIds = $"""
        SELECT ARRAY(SELECT {NextEventId} FROM generate_series(1, $1)),
               ARRAY(SELECT {NextWorkflowRunId} FROM generate_series(1, $2)),
               ARRAY(SELECT {NextActionRunId} FROM generate_series(1, $3))
        """;

    // An event whose (project, dedup key) exists is skipped, not an error; RETURNING names the rows written.
    private const string InsertEvents = """
        INSERT INTO events (id, project_id, kind, workflow_id, action_id, file_id, task_id, job_id, directory_id, input_id,
                            member_id, description, error_log, extra_metadata, payload, source, dedup_key, workflow_run_id, time_created)
        SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                             $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::jsonb[],
                             $15::jsonb[], $16::text[], $17::text[], $18::bigint[], $19::timestamptz[])
        ON CONFLICT (project_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
        RETURNING id
        """;

    // Events whose steps all run here need no trigger: then the whole accept is one statement. Each row is numbered by
    // its sequence as it is read; workflow runs and runs find their event (and a run its new workflow run) by ordinal;
    // what hangs on an event skipped as a duplicate is not written. Returns every event's and run's id by ordinal.
    private const string AcceptHeld = $"""
        WITH ev_in AS MATERIALIZED (
            SELECT {NextEventId} AS id, u.*
            FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                        $8::bigint[], $9::bigint[], $10::bigint[], $11::text[], $12::text[], $13::jsonb[], $14::jsonb[],
                        $15::text[], $16::text[], $17::bigint[], $18::timestamptz[]) WITH ORDINALITY
                 AS u(project_id, kind, workflow_id, action_id, file_id, task_id, job_id, directory_id, input_id, member_id,
                      description, error_log, extra_metadata, payload, source, dedup_key, workflow_run_id, time_created, ord)
        ), ev AS (
            INSERT INTO events (id, project_id, kind, workflow_id, action_id, file_id, task_id, job_id, directory_id, input_id,
                                member_id, description, error_log, extra_metadata, payload, source, dedup_key, workflow_run_id, time_created)
            SELECT id, project_id, kind, workflow_id, action_id, file_id, task_id, job_id, directory_id, input_id,
                   member_id, description, error_log, extra_metadata, payload, source, dedup_key, workflow_run_id, time_created
            FROM ev_in
            ON CONFLICT (project_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
            RETURNING id
        ), wr_in AS MATERIALIZED (
            SELECT {NextWorkflowRunId} AS id, w.*
            FROM unnest($19::integer[], $20::bigint[]) WITH ORDINALITY AS w(event_ord, workflow_id, ord)
        ), wr AS (
            INSERT INTO workflow_runs (id, project_id, workflow_id, root_event_id, status, time_created, time_updated)
            SELECT w.id, e.project_id, w.workflow_id, e.id, 'running', e.time_created, e.time_created
            FROM wr_in w JOIN ev_in e ON e.ord = w.event_ord JOIN ev ON ev.id = e.id
        ), ar_in AS MATERIALIZED (
            SELECT {NextActionRunId} AS id, r.*
            FROM unnest($21::integer[], $22::integer[], $23::bigint[], $24::bigint[], $25::text[], $26::text[],
                        $27::timestamptz[], $28::timestamptz[]) WITH ORDINALITY
                 AS r(event_ord, workflow_run_ord, workflow_id, action_id, kind, worker_id, started_at, lease_until, ord)
        ), ar AS (
            INSERT INTO action_runs (id, project_id, workflow_id, action_id, workflow_run_id, event_id, kind, status, attempt,
                                     time_created, started_at, lease_until, worker_id)
            SELECT r.id, e.project_id, r.workflow_id, r.action_id, COALESCE(w.id, e.workflow_run_id), e.id, r.kind, 'running', 1,
                   e.time_created, r.started_at, r.lease_until, r.worker_id
            FROM ar_in r JOIN ev_in e ON e.ord = r.event_ord JOIN ev ON ev.id = e.id LEFT JOIN wr_in w ON w.ord = r.workflow_run_ord
        )
        SELECT 0, e.ord, e.id, ev.id IS NOT NULL FROM ev_in e LEFT JOIN ev ON ev.id = e.id
        UNION ALL SELECT 1, w.ord, w.id, true FROM wr_in w
        UNION ALL SELECT 2, r.ord, r.id, true FROM ar_in r
        """;

    // Runs and their triggers belong to an event of the same batch: written only if that event was.
    private const string InsertWorkflowRuns = """
        INSERT INTO workflow_runs (id, project_id, workflow_id, root_event_id, status, time_created, time_updated)
        SELECT u.id, u.project_id, u.workflow_id, u.root_event_id, u.status, u.time_created, u.time_created
        FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::timestamptz[])
             AS u(id, project_id, workflow_id, root_event_id, status, time_created)
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.id = u.root_event_id)
        """;

    private const string InsertActionRuns = """
        INSERT INTO action_runs (id, project_id, workflow_id, action_id, workflow_run_id, event_id, kind, status, attempt,
                                 time_created, started_at, lease_until, worker_id, error_reason, finished_at)
        SELECT u.id, u.project_id, u.workflow_id, u.action_id, u.workflow_run_id, u.event_id, u.kind, u.status, u.attempt,
               u.time_created, u.started_at, u.lease_until, u.worker_id, u.error_reason, u.finished_at
        FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[],
                    $9::integer[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[], $15::timestamptz[])
             AS u(id, project_id, workflow_id, action_id, workflow_run_id, event_id, kind, status, attempt, time_created,
                  started_at, lease_until, worker_id, error_reason, finished_at)
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.id = u.event_id)
        """;

    // A join's arrivals, merged into its row under the row's lock (ON CONFLICT DO UPDATE works on the latest version, so
    // two predecessors ending at once in two transactions both see each other's entry, the later one after the first commits).
    private const string UpsertJoins = """
        INSERT INTO join_states (workflow_run_id, action_id, project_id, arrived, time_created, time_updated)
        SELECT u.workflow_run_id, u.action_id, u.project_id, u.arrived, u.at, u.at
        FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::jsonb[], $5::timestamptz[]) AS u(workflow_run_id, action_id, project_id, arrived, at)
        ON CONFLICT (workflow_run_id, action_id)
        DO UPDATE SET arrived = join_states.arrived || EXCLUDED.arrived, time_updated = EXCLUDED.time_updated
        RETURNING workflow_run_id, action_id, arrived::text, decision
        """;

    private const string DecideJoins = """
        UPDATE join_states AS j SET decision = u.decision
        FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(workflow_run_id, action_id, decision)
        WHERE j.workflow_run_id = u.workflow_run_id AND j.action_id = u.action_id AND j.decision IS NULL
        """;

    private const string InsertTriggers = """
        INSERT INTO outbox_messages (queue, body, time_created, available_at, deliveries)
        SELECT u.queue, u.body, u.time_created, u.available_at, 0
        FROM unnest($1::text[], $2::bytea[], $3::timestamptz[], $4::timestamptz[], $5::bigint[])
             AS u(queue, body, time_created, available_at, event_id)
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.id = u.event_id)
        """;

    private const string InsertWindowEntries = """
        INSERT INTO window_entries (action_id, project_id, window_key, event_id, time_created)
        SELECT u.action_id, u.project_id, u.window_key, u.event_id, u.time_created
        FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::timestamptz[])
             AS u(action_id, project_id, window_key, event_id, time_created)
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.id = u.event_id)
        """;

    // Every statement of a hot write transaction finds rows by key: the arrays it joins hold at most a batch, the
    // tables it joins grow without end. PostgreSQL keeps one generic plan per prepared statement for the life of the
    // connection, made from the tables' sizes when it was made: made on a fresh database, it scans the whole table on
    // every batch until autovacuum happens to analyze it. Planned without sequential scans, hash or merge joins, the
    // one plan left probes the primary key for each array element, which is right at any size. One statement for the
    // three (set_config with is_local = true is SET LOCAL), not three: each statement costs the server a round of the
    // extended protocol, and every completion pays it.
    private const string KeyLookupsOnly = """
        SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),
               set_config('enable_mergejoin', 'off', true)
        """;

    // Row locks as FOR UPDATE would take them; a run another worker holds now, or that ended, is left alone.
    // The run must still be in the state an attempt ends from (RunLifecycle: running) and held by the caller.
    // That state comes as a column of the batch ($9, the same for every item), not as a literal: with a literal the
    // planner may read the running runs from an index that holds them (the status index before round 12, the lease
    // sweep's ix_action_runs_running_lease_until now) and compare each with every item of the batch, which it
    // takes to be cheap whenever the statistics saw few runs running (they are a small, moving set: an ANALYZE between
    // two bursts sees none). Then a batch of 250 ending among 750 running runs made 187,500 comparisons and took 56 ms
    // instead of 2 (bench/README.md, "Round 12"). Compared with a column of the batch, the status can only filter the
    // run that the primary key finds for each item.
    private static readonly string EndRuns = $"""
        UPDATE action_runs AS r
        SET status = u.status, output = u.output, error_reason = u.error_reason, error_type = u.error_type,
            finished_at = CASE WHEN u.status = '{EnumNames.ToDatabase(ActionRunStatus.Waiting)}' THEN NULL ELSE u.finished_at END,
            lease_until = NULL, next_attempt_at = u.next_attempt_at,
            waited_until = CASE WHEN u.status = '{EnumNames.ToDatabase(ActionRunStatus.Waiting)}' THEN u.next_attempt_at ELSE r.waited_until END
        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[],
                    $9::text[])
             AS u(id, worker_id, status, output, error_reason, error_type, finished_at, next_attempt_at, ends_from)
        WHERE r.id = u.id AND r.status = u.ends_from AND r.worker_id = u.worker_id
        RETURNING r.id, r.event_id, r.action_id, r.project_id, r.workflow_run_id
        """;

    // A run locked by another transaction is being ended by this worker's completion batch (or taken over after its
    // lease ran out): it needs no renewal, and waiting for it could deadlock with a batch that locks the same runs in
    // another order, which PostgreSQL resolves only after deadlock_timeout by failing one of the two. The status a lease
    // is renewed in comes as a column of the batch ($4, running for every run), for the reason EndRuns gives: with the
    // literal, the running runs' index matched it, and with statistics that saw none running the renewal of 40 runs
    // read all 2,000 that were (PostgresPlanTests).
    private const string RenewLeases = """
        UPDATE action_runs SET lease_until = $1
        WHERE id IN (SELECT r.id FROM unnest($2::bigint[], $4::text[]) AS u(id, renewed_in)
                     JOIN action_runs r ON r.id = u.id AND r.status = u.renewed_in
                     WHERE r.worker_id = $3
                     FOR UPDATE OF r SKIP LOCKED)
        """;

    private const string InsertAttempts = """
        INSERT INTO action_run_attempts (action_run_id, attempt, started_at, finished_at, status, error, error_type, worker_id, next_attempt_at)
        SELECT * FROM unnest($1::bigint[], $2::integer[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
                             $8::text[], $9::timestamptz[])
        """;

    // WorkflowRunLifecycle: a failed or canceled workflow run stays so; it succeeds (or is skipped) only once no run of it
    // is open. The rows are locked first, in id order, by a statement of their own: the update then reads with a snapshot
    // taken after any concurrent completion of a sibling branch committed, so the last branch to end always settles it.
    private const string LockWorkflowRuns = """
        SELECT id FROM workflow_runs WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE
        """;

    private static readonly string UpdateWorkflowRuns = $"""
        UPDATE workflow_runs AS w SET status = u.status, time_updated = u.time_updated
        FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(id, status, time_updated)
        WHERE w.id = u.id AND w.status NOT IN ({RunRules.SqlList(WorkflowRunLifecycle.Closed)})
          AND (u.status NOT IN ({RunRules.SqlList(WorkflowRunLifecycle.AfterAllBranches)})
               OR NOT EXISTS (SELECT 1 FROM action_runs r
                              WHERE r.workflow_run_id = w.id AND r.status IN ({RunRules.SqlList(WorkflowRunLifecycle.OpenRuns)})))
        """;

    // The completion in one round trip: every statement after EndRuns writes only what hangs on a run that EndRuns ended in
    // this same transaction, which is what a row version made by this transaction shows (its xmin is this transaction's
    // id; the runs ended here were all created by earlier, committed transactions). A run another worker holds, or that
    // ended before (a redelivery), writes nothing more, as when the client chose the rows between two round trips.
    private const string EndedHere = "r.xmin = pg_current_xact_id()::xid";

    private const string InsertAttemptsOfEnded = $"""
        INSERT INTO action_run_attempts (action_run_id, attempt, started_at, finished_at, status, error, error_type, worker_id, next_attempt_at)
        SELECT u.action_run_id, u.attempt, u.started_at, u.finished_at, u.status, u.error, u.error_type, u.worker_id, u.next_attempt_at
        FROM unnest($1::bigint[], $2::integer[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
                    $8::text[], $9::timestamptz[])
             AS u(action_run_id, attempt, started_at, finished_at, status, error, error_type, worker_id, next_attempt_at)
        WHERE EXISTS (SELECT 1 FROM action_runs r WHERE r.id = u.action_run_id AND {EndedHere})
        """;

    // The emitted events of the runs ended here take their ids from the sequence in the order of the batch, as the
    // allocation of the two-trip path gives them; an event skipped as a duplicate keeps its id, as there. Returns each
    // written event's id by its ordinal in the batch.
    private const string InsertEventsOfEnded = $"""
        WITH ev_in AS MATERIALIZED (
            SELECT {NextEventId} AS id, e.*
            FROM (SELECT u.* FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                                         $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::jsonb[],
                                         $15::jsonb[], $16::text[], $17::text[], $18::bigint[], $19::timestamptz[]) WITH ORDINALITY
                      AS u(run_id, project_id, kind, workflow_id, action_id, file_id, task_id, job_id, directory_id, input_id, member_id,
                           description, error_log, extra_metadata, payload, source, dedup_key, workflow_run_id, time_created, ord)
                  WHERE EXISTS (SELECT 1 FROM action_runs r WHERE r.id = u.run_id AND {EndedHere})
                  ORDER BY u.ord) e
        ), ev AS (
            INSERT INTO events (id, project_id, kind, workflow_id, action_id, file_id, task_id, job_id, directory_id, input_id,
                                member_id, description, error_log, extra_metadata, payload, source, dedup_key, workflow_run_id, time_created)
            SELECT id, project_id, kind, workflow_id, action_id, file_id, task_id, job_id, directory_id, input_id,
                   member_id, description, error_log, extra_metadata, payload, source, dedup_key, workflow_run_id, time_created
            FROM ev_in
            ON CONFLICT (project_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
        )
        SELECT ord, id FROM ev_in
        """;

    // LockWorkflowRuns for the workflow runs of the runs ended here that ask for a status: in id order, by a statement of
    // its own, for the same reasons.
    private const string LockWorkflowRunsOfEnded = $"""
        SELECT w.id FROM workflow_runs w
        WHERE w.id IN (SELECT r.workflow_run_id FROM unnest($1::bigint[]) AS u(run_id) JOIN action_runs r ON r.id = u.run_id WHERE {EndedHere})
        ORDER BY w.id FOR UPDATE
        """;

    // UpdateWorkflowRuns with WorkflowRunStatuses computed here over the runs ended here: per status (in order of first
    // appearance in the batch) its latest time; per workflow run the first of its statuses that no later one may change
    // (WorkflowRunLifecycle.Settles false), else the last.
    private static readonly string UpdateWorkflowRunsOfEnded = $"""
        WITH c AS (
            SELECT u.status, u.settles, u.at, u.ord, r.workflow_run_id
            FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::timestamptz[]) WITH ORDINALITY AS u(run_id, status, settles, at, ord)
            JOIN action_runs r ON r.id = u.run_id
            WHERE {EndedHere}
        ), g AS (
            SELECT status, min(ord) AS first, max(at) AS at, bool_and(settles) AS settles FROM c GROUP BY status
        ), u AS (
            SELECT DISTINCT ON (c.workflow_run_id) c.workflow_run_id AS id, g.status, g.at AS time_updated
            FROM c JOIN g ON g.status = c.status
            ORDER BY c.workflow_run_id, g.settles, CASE WHEN g.settles THEN -g.first ELSE g.first END
        )
        UPDATE workflow_runs AS w SET status = u.status, time_updated = u.time_updated
        FROM u
        WHERE w.id = u.id AND w.status NOT IN ({RunRules.SqlList(WorkflowRunLifecycle.Closed)})
          AND (u.status NOT IN ({RunRules.SqlList(WorkflowRunLifecycle.AfterAllBranches)})
               OR NOT EXISTS (SELECT 1 FROM action_runs r
                              WHERE r.workflow_run_id = w.id AND r.status IN ({RunRules.SqlList(WorkflowRunLifecycle.OpenRuns)})))
        """;

    /// <summary>
    /// Writes new events with the runs (and triggers) of their matched steps, in one transaction. Events whose
    /// dedup key exists are skipped with everything that hangs on them. Returns, per item, the held runs of its event,
    /// or null when the event was skipped.
    /// </summary>
    public static async Task<ActionRun[]?[]> AcceptAsync(
        NpgsqlConnection connection, IReadOnlyList<(Event Event, IReadOnlyList<MatchedStep> Steps)> items, CancellationToken cancellationToken)
    {
        var plan = RunPlan.For(items);
        if (plan.Windowed.Count == 0 && plan.Steps.TrueForAll(s => s.Step is { HeldBy: not null, SkipReason: null, FailReason: null, Join: null }))
        {
            return await AcceptHeldAsync(connection, items, plan, cancellationToken);
        }

        var ids = await AllocateAsync(connection, null, items.Count, plan, cancellationToken);
        for (var i = 0; i < items.Count; i++)
        {
            items[i].Event.Id = ids.Events[i];
        }

        var runs = Bind(plan, ids, items.Select(x => x.Event).ToHashSet());
        await using var batch = new NpgsqlBatch(connection);
        BeginKeyLookups(batch);
        batch.BatchCommands.Add(EventRows(items.Select(x => x.Event).ToList()));
        AddRunRows(batch, plan, runs);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));

        var inserted = new HashSet<long>();
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            await SkipKeyLookupsAsync(reader, cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                inserted.Add(reader.GetInt64(0));
            }

            // The later statements' errors surface here; any of them leaves the transaction to roll back.
            await DrainAsync(reader, cancellationToken);
        }
        catch
        {
            await RollBackQuietlyAsync(connection);
            throw;
        }

        PooledArrayParameters.Return(batch);
        var itemOf = new Dictionary<Event, int>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            itemOf.Add(items[i].Event, i);
        }

        // Every event was kept in the plan (Bind with all of them), so the runs are in the plan's step order.
        return HeldByItem(items.Count, i => inserted.Contains(items[i].Event.Id), runs, k => itemOf[plan.Steps[k].Event], r => r.Status == ActionRunStatus.Running);
    }

    /// <summary>
    /// Per item, the runs of its event that <paramref name="isHeld"/> picks (an array of their own, empty when none), or
    /// null for an item whose event was not written: what the accept hands back, with no lookup built to be copied.
    /// </summary>
    private static ActionRun[]?[] HeldByItem(int itemCount, Func<int, bool> written, List<ActionRun> runs, Func<int, int> itemOfRun, Func<ActionRun, bool> isHeld)
    {
        var counts = new int[itemCount];
        for (var k = 0; k < runs.Count; k++)
        {
            if (isHeld(runs[k]))
            {
                counts[itemOfRun(k)]++;
            }
        }

        var held = new ActionRun[]?[itemCount];
        for (var i = 0; i < itemCount; i++)
        {
            held[i] = !written(i) ? null : counts[i] == 0 ? [] : new ActionRun[counts[i]];
            counts[i] = 0;
        }

        for (var k = 0; k < runs.Count; k++)
        {
            var i = itemOfRun(k);
            if (held[i] is { Length: > 0 } array && isHeld(runs[k]))
            {
                array[counts[i]++] = runs[k];
            }
        }

        return held;
    }

    /// <summary>Every matched step runs here (no triggers): the accept in one round trip, see <see cref="AcceptHeld"/>.</summary>
    private static async Task<ActionRun[]?[]> AcceptHeldAsync(
        NpgsqlConnection connection, IReadOnlyList<(Event Event, IReadOnlyList<MatchedStep> Steps)> items, RunPlan plan, CancellationToken cancellationToken)
    {
        var events = new List<Event>(items.Count);
        var eventOrd = new Dictionary<Event, int>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            events.Add(items[i].Event);
            eventOrd.Add(items[i].Event, i + 1);
        }

        var started = new Dictionary<WorkflowRun, int>(plan.NewWorkflowRuns.Count);
        for (var i = 0; i < plan.NewWorkflowRuns.Count; i++)
        {
            started.Add(plan.NewWorkflowRuns[i], i + 1);
        }

        var steps = plan.Steps;
        var columns = new List<NpgsqlParameter>(28);
        AddEventColumns(columns, events, withId: false);
        columns.Add(Column(plan.NewWorkflowRuns, w => eventOrd[plan.RootOf(w)], NpgsqlDbType.Integer));
        columns.Add(Column(plan.NewWorkflowRuns, w => w.WorkflowId, NpgsqlDbType.Bigint));
        columns.Add(Column(steps, s => eventOrd[s.Event], NpgsqlDbType.Integer));
        columns.Add(Column(steps, s => s.Started is null ? 0 : started[s.Started], NpgsqlDbType.Integer));
        columns.Add(Column(steps, s => s.Step.WorkflowId, NpgsqlDbType.Bigint));
        columns.Add(Column(steps, s => s.Step.ActionId, NpgsqlDbType.Bigint));
        columns.Add(Column(steps, s => s.Step.Kind, NpgsqlDbType.Text));
        columns.Add(Column(steps, s => s.Step.HeldBy!.WorkerId, NpgsqlDbType.Text));
        columns.Add(Column(steps, s => (DateTime?)Utc(PipelineStore.Microseconds(s.Step.HeldBy!.StartedAt)), NpgsqlDbType.TimestampTz));
        columns.Add(Column(steps, s => (DateTime?)Utc(PipelineStore.Microseconds(s.Step.HeldBy!.LeaseUntil)), NpgsqlDbType.TimestampTz));

        var eventIds = new long[events.Count];
        var written = new bool[events.Count];
        var workflowRunIds = new long[plan.NewWorkflowRuns.Count];
        var runIds = new long[steps.Count];
        await using (var batch = new NpgsqlBatch(connection))
        {
            batch.BatchCommands.Add(Command(AcceptHeld, [.. columns]));
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var ord = (int)reader.GetInt64(1) - 1;
                var id = reader.GetInt64(2);
                switch (reader.GetInt32(0))
                {
                    case 0:
                        (eventIds[ord], written[ord]) = (id, reader.GetBoolean(3));
                        break;
                    case 1:
                        workflowRunIds[ord] = id;
                        break;
                    default:
                        runIds[ord] = id;
                        break;
                }
            }

            await reader.DisposeAsync();
            PooledArrayParameters.Return(batch);
        }

        for (var i = 0; i < events.Count; i++)
        {
            events[i].Id = eventIds[i];
        }

        // The statement wrote the rows; the runs handed back need their workflow runs' ids.
        for (var i = 0; i < workflowRunIds.Length; i++)
        {
            plan.NewWorkflowRuns[i].Id = workflowRunIds[i];
        }

        // The runs are in the plan's step order; every one is held (this path is taken only then).
        var runs = plan.CreateRuns(i => runIds[i]);
        return HeldByItem(events.Count, i => written[i], runs, k => eventOrd[steps[k].Event] - 1, static _ => true);
    }

    /// <summary>
    /// Ends the runs still held by their workers and writes, for those, the attempts, emitted events, retry triggers,
    /// next steps' runs and workflow-run statuses, in one transaction. The first request per run counts.
    /// </summary>
    public static async Task<CompletionRecorded[]> CompleteAsync(
        NpgsqlConnection connection, IReadOnlyList<(RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Matches)> batch, CancellationToken cancellationToken)
    {
        var results = new CompletionRecorded[batch.Count];
        Array.Fill(results, CompletionRecorded.NotHeld);
        // In one pass, each list sized for the batch (no LINQ iterators, no list grown by doubling per batch).
        var firsts = new List<((RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Matches) Request, int Index)>(batch.Count);
        var emitting = new List<((RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Matches) Request, int Index)>(batch.Count);
        var emitted = new List<(Event Event, IReadOnlyList<MatchedStep> Steps)>(batch.Count);
        var seen = new HashSet<long>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var request = batch[i];
            if (!seen.Add(request.Completion.RunId))
            {
                continue;
            }

            firsts.Add((request, i));
            if (request.Emitted is { } ev)
            {
                emitting.Add((request, i));
                emitted.Add((ev, request.Matches));
            }
        }

        var plan = RunPlan.For(emitted);

        // BEGIN (with the plan settings) and COMMIT travel inside the batches: no round trip of their own.
        try
        {
            return StartsNothing(plan, firsts)
                ? await CompleteInOneTripAsync(connection, results, firsts, emitting, cancellationToken)
                : await CompleteInTransactionAsync(connection, results, firsts, emitting.Count, plan, cancellationToken);
        }
        catch
        {
            await RollBackQuietlyAsync(connection);
            throw;
        }
    }

    /// <summary>
    /// Whether the batch can be written in one round trip: its emitted events start no step (no run, workflow run, join or
    /// window entry needs an id the client would have to know) and no run goes on later (a retry's trigger carries the
    /// run's event, known only once the run is ended). A paced one-step event's completion is such a batch.
    /// </summary>
    private static bool StartsNothing(RunPlan plan, List<((RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Matches) Request, int Index)> firsts) =>
        plan.StepCount == 0 && plan.NewWorkflowRuns.Count == 0 && plan.Windowed.Count == 0
        && firsts.TrueForAll(x => x.Request.Completion.NextAttemptAt is null);

    /// <summary>
    /// <see cref="CompleteInTransactionAsync"/> for a batch that <see cref="StartsNothing"/>, in one batch: BEGIN, EndRuns,
    /// then each write conditioned in SQL on its run having been ended by this transaction (<see cref="EndedHere"/>), COMMIT.
    /// The same rows and values as the two-trip path; its lock order too (runs in id order, then workflow runs in id order).
    /// </summary>
    private static async Task<CompletionRecorded[]> CompleteInOneTripAsync(
        NpgsqlConnection connection,
        CompletionRecorded[] results,
        List<((RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Matches) Request, int Index)> firsts,
        List<((RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Matches) Request, int Index)> emitting,
        CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        BeginKeyLookups(batch);
        AddEndRuns(batch, firsts);

        AddAttempts(batch, InsertAttemptsOfEnded, firsts.Select(x => x.Request.Completion));

        if (emitting.Count > 0)
        {
            var columns = new List<NpgsqlParameter>(19) { Column(emitting, x => x.Request.Completion.RunId, NpgsqlDbType.Bigint) };
            AddEventColumns(columns, [.. emitting.Select(x => x.Request.Emitted!)], withId: false);
            batch.BatchCommands.Add(Command(InsertEventsOfEnded, [.. columns]));
        }

        // In the batch's order: the order in which the statuses apply (WorkflowRunStatuses).
        var asking = firsts.Select(x => x.Request.Completion).Where(c => c.WorkflowRunStatus is not null).ToList();
        if (asking.Count > 0)
        {
            batch.BatchCommands.Add(Command(LockWorkflowRunsOfEnded, Column(asking, c => c.RunId, NpgsqlDbType.Bigint)));
            batch.BatchCommands.Add(Command(UpdateWorkflowRunsOfEnded,
                Column(asking, c => c.RunId, NpgsqlDbType.Bigint),
                Column(asking, c => EnumNames.ToDatabase(c.WorkflowRunStatus!.Value), NpgsqlDbType.Text),
                Column(asking, c => WorkflowRunLifecycle.Settles(c.WorkflowRunStatus!.Value), NpgsqlDbType.Boolean),
                Column(asking, c => (DateTime?)Utc(c.FinishedAt), NpgsqlDbType.TimestampTz)));
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));

        var ended = new HashSet<long>(firsts.Count);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await SkipKeyLookupsAsync(reader, cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ended.Add(reader.GetInt64(0));
            }

            if (emitting.Count > 0)
            {
                // Past the attempts' insert, if any, to the events' ids.
                while (await reader.NextResultAsync(cancellationToken) && reader.FieldCount != 2)
                {
                }

                while (await reader.ReadAsync(cancellationToken))
                {
                    emitting[(int)reader.GetInt64(0) - 1].Request.Emitted!.Id = reader.GetInt64(1);
                }
            }

            // The later statements' errors surface here; any of them leaves the transaction to roll back.
            await DrainAsync(reader, cancellationToken);
        }

        PooledArrayParameters.Return(batch);
        foreach (var (request, index) in firsts)
        {
            if (ended.Contains(request.Completion.RunId))
            {
                results[index] = new CompletionRecorded(true, []);
            }
        }

        return results;
    }

    private static async Task<CompletionRecorded[]> CompleteInTransactionAsync(
        NpgsqlConnection connection,
        CompletionRecorded[] results,
        List<((RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Matches) Request, int Index)> firsts,
        int emitting,
        RunPlan plan,
        CancellationToken cancellationToken)
    {
        await using var first = new NpgsqlBatch(connection);
        BeginKeyLookups(first);
        AddEndRuns(first, firsts);
        first.BatchCommands.Add(AllocateCommand(emitting, plan));

        var ended = new Dictionary<long, (long EventId, long ActionId, long ProjectId, long WorkflowRunId)>();
        AllocatedIds ids;
        await using (var reader = await first.ExecuteReaderAsync(cancellationToken))
        {
            await SkipKeyLookupsAsync(reader, cancellationToken);

            while (await reader.ReadAsync(cancellationToken))
            {
                ended[reader.GetInt64(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
            }

            await reader.NextResultAsync(cancellationToken);
            ids = await ReadIdsAsync(reader, cancellationToken);
        }

        PooledArrayParameters.Return(first);

        if (ended.Count == 0)
        {
            await RollBackQuietlyAsync(connection);
            return results;
        }

        var held = firsts.Where(x => ended.ContainsKey(x.Request.Completion.RunId)).ToList();
        var emitted = held.Where(x => x.Request.Emitted is not null).Select(x => x.Request.Emitted!).ToList();
        for (var i = 0; i < emitted.Count; i++)
        {
            emitted[i].Id = ids.Events[i];
        }

        var runs = Bind(plan, ids, emitted.ToHashSet());
        var joins = plan.Steps.Exists(s => s.Step.Join is not null)
            ? await ArriveAtJoinsAsync(connection, plan, runs, cancellationToken)
            : NoJoins;
        runs = joins.Runs ?? runs;
        await using var second = new NpgsqlBatch(connection);
        if (joins.Decisions.Count > 0)
        {
            second.BatchCommands.Add(Command(DecideJoins,
                Column(joins.Decisions, d => d.WorkflowRunId, NpgsqlDbType.Bigint),
                Column(joins.Decisions, d => d.ActionId, NpgsqlDbType.Bigint),
                Column(joins.Decisions, d => d.Decision, NpgsqlDbType.Text)));
        }

        AddAttempts(second, InsertAttempts, held.Select(x => x.Request.Completion));

        if (emitted.Count > 0)
        {
            second.BatchCommands.Add(EventRows(emitted));
        }

        // The next attempt's (or the wait's end) trigger, hidden until it is due; committed with the attempt, so a crash loses neither.
        var retries = held.Where(x => x.Request.Completion.NextAttemptAt is not null).Select(x =>
        {
            var (eventId, actionId, projectId, _) = ended[x.Request.Completion.RunId];
            var completion = x.Request.Completion;
            return (EventId: eventId, Message: new TriggerMessage(eventId, actionId, projectId, completion.RunId).ToOutbox(completion.FinishedAt, completion.NextAttemptAt));
        }).ToList();
        AddTriggerRows(second, retries);
        AddRunRows(second, plan, runs);

        var statuses = WorkflowRunStatuses(held.Select(x => (ended[x.Request.Completion.RunId].WorkflowRunId, x.Request.Completion)));
        foreach (var failed in joins.Decisions.Where(d => d.Decision == JoinArrivals.Name(JoinVerdictKind.Fail)))
        {
            // A join recorded failed fails its workflow run, as a failed step does.
            statuses[failed.WorkflowRunId] = (WorkflowRunStatus.Failed, failed.At);
        }

        if (statuses.Count > 0)
        {
            second.BatchCommands.Add(Command(LockWorkflowRuns, Column(statuses.Select(s => s.Key).Order(), NpgsqlDbType.Bigint)));
            second.BatchCommands.Add(Command(UpdateWorkflowRuns,
                Column(statuses.Select(s => s.Key), NpgsqlDbType.Bigint),
                Column(statuses.Select(s => EnumNames.ToDatabase(s.Value.Status)), NpgsqlDbType.Text),
                Column(statuses.Select(s => (DateTime?)Utc(s.Value.At)), NpgsqlDbType.TimestampTz)));
        }

        second.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await using (var reader = await second.ExecuteReaderAsync(cancellationToken))
        {
            await DrainAsync(reader, cancellationToken);
        }

        PooledArrayParameters.Return(second);

        var heldByEvent = runs.Where(r => r.Status == ActionRunStatus.Running).ToLookup(r => r.EventId);
        foreach (var (request, index) in held)
        {
            results[index] = new CompletionRecorded(true, request.Emitted is { } ev ? [.. heldByEvent[ev.Id]] : []);
        }

        return results;
    }

    /// <summary>Adds <see cref="EndRuns"/> for the <paramref name="firsts"/>.</summary>
    private static void AddEndRuns(NpgsqlBatch batch, List<((RunCompletion Completion, Event? Emitted, IReadOnlyList<MatchedStep> Matches) Request, int Index)> firsts)
    {
        // In id order, as the lease renewal and other batches lock runs: concurrent lockers then cannot wait in a cycle.
        var completions = firsts.Select(x => x.Request.Completion).OrderBy(c => c.RunId).ToList();
        batch.BatchCommands.Add(Command(EndRuns,
            Column(completions, c => c.RunId, NpgsqlDbType.Bigint),
            Column(completions, c => c.WorkerId, NpgsqlDbType.Text),
            Column(completions, c => EnumNames.ToDatabase(c.Status), NpgsqlDbType.Text),
            JsonColumn(completions, c => c.Output),
            Column(completions, c => c.ErrorReason, NpgsqlDbType.Text),
            Column(completions, c => c.ErrorType, NpgsqlDbType.Text),
            Column(completions, c => (DateTime?)Utc(c.FinishedAt), NpgsqlDbType.TimestampTz),
            Column(completions, c => Utc(c.NextAttemptAt), NpgsqlDbType.TimestampTz),
            Column(completions, _ => AttemptEndsFrom, NpgsqlDbType.Text)));
    }

    /// <summary>The one status an attempt ends from (<see cref="RunTransition.Succeed"/>), for <see cref="EndRuns"/>; a lease is held, and renewed (<see cref="RenewLeases"/>), only in it.</summary>
    private static readonly string AttemptEndsFrom = EnumNames.ToDatabase(RunLifecycle.From(RunTransition.Succeed).Single());

    /// <summary>Adds <paramref name="sql"/> (<see cref="InsertAttempts"/> or <see cref="InsertAttemptsOfEnded"/>) for the completions that carry an attempt, if any.</summary>
    private static void AddAttempts(NpgsqlBatch batch, string sql, IEnumerable<RunCompletion> completions)
    {
        var attempts = completions.Where(c => c.Attempt is not null).Select(c => (c.RunId, Attempt: c.Attempt!)).ToList();
        if (attempts.Count > 0)
        {
            batch.BatchCommands.Add(Command(sql, AttemptColumns(attempts)));
        }
    }

    /// <summary>The attempts' columns in <see cref="InsertAttempts"/>'s (and <see cref="InsertAttemptsOfEnded"/>'s) order.</summary>
    private static NpgsqlParameter[] AttemptColumns(List<(long RunId, ActionRunAttempt Attempt)> attempts) =>
    [
        Column(attempts, a => a.RunId, NpgsqlDbType.Bigint),
        Column(attempts, a => a.Attempt.Attempt, NpgsqlDbType.Integer),
        Column(attempts, a => Utc(a.Attempt.StartedAt), NpgsqlDbType.TimestampTz),
        Column(attempts, a => (DateTime?)Utc(a.Attempt.FinishedAt), NpgsqlDbType.TimestampTz),
        Column(attempts, a => EnumNames.ToDatabase(a.Attempt.Status), NpgsqlDbType.Text),
        Column(attempts, a => a.Attempt.Error, NpgsqlDbType.Text),
        Column(attempts, a => a.Attempt.ErrorType, NpgsqlDbType.Text),
        Column(attempts, a => a.Attempt.WorkerId, NpgsqlDbType.Text),
        Column(attempts, a => Utc(a.Attempt.NextAttemptAt), NpgsqlDbType.TimestampTz),
    ];

    private static readonly JoinOutcome NoJoins = new(null, []);

    private sealed record JoinOutcome(List<ActionRun>? Runs, List<(long WorkflowRunId, long ActionId, string Decision, DateTime At)> Decisions);

    /// <summary>
    /// Records the join arrivals among the next steps' runs (one upsert, in a round trip of its own: only workflows with
    /// joins pay it) and keeps, per join, the run of the arrival that decides it, ended as decided (skipped, failed) or
    /// pending with its predecessors' outputs in its event; every other arrival's run is dropped.
    /// </summary>
    private static async Task<JoinOutcome> ArriveAtJoinsAsync(NpgsqlConnection connection, RunPlan plan, List<ActionRun> runs, CancellationToken cancellationToken)
    {
        var arriving = Enumerable.Range(0, runs.Count).Where(i => plan.Steps[i].Step.Join is not null).ToList();
        // In key order, so two transactions lock the rows they share in the same order.
        var groups = arriving.GroupBy(i => (runs[i].WorkflowRunId, runs[i].ActionId)).OrderBy(g => g.Key.WorkflowRunId).ThenBy(g => g.Key.ActionId).ToList();
        var rows = new Dictionary<(long, long), (JsonObject Arrived, string? Decision)>();
        await using (var batch = new NpgsqlBatch(connection))
        {
            batch.BatchCommands.Add(Command(UpsertJoins,
                Column(groups, g => g.Key.WorkflowRunId, NpgsqlDbType.Bigint),
                Column(groups, g => g.Key.ActionId, NpgsqlDbType.Bigint),
                Column(groups, g => runs[g.First()].ProjectId, NpgsqlDbType.Bigint),
                Column(groups, g => JsonObjectConverter.ToJson(JoinArrivals.Entries(g.Select(i => plan.Steps[i].Step.Join!))), NpgsqlDbType.Jsonb),
                Column(groups, g => (DateTime?)Utc(runs[g.First()].TimeCreated), NpgsqlDbType.TimestampTz)));
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows[(reader.GetInt64(0), reader.GetInt64(1))] = (JsonObjectConverter.FromJson(reader.GetString(2)), reader.IsDBNull(3) ? null : reader.GetString(3));
            }

            await reader.DisposeAsync();
            PooledArrayParameters.Return(batch);
        }

        var drop = arriving.ToHashSet();
        var decisions = new List<(long, long, string, DateTime)>();
        foreach (var group in groups)
        {
            var (arrived, decision) = rows[group.Key];
            var first = group.First();
            var step = plan.Steps[first].Step;
            if (decision is not null || JoinArrivals.Decide(step.Join!.Settings, arrived) is not { Decided: true } verdict)
            {
                continue;
            }

            drop.Remove(first);
            var run = runs[first];
            var resolved = JoinArrivals.Resolve(step, verdict);
            if ((resolved.SkipReason ?? resolved.FailReason) is { } reason)
            {
                run.Status = resolved.SkipReason is null ? ActionRunStatus.Failed : ActionRunStatus.Skipped;
                run.ErrorReason = reason;
                run.FinishedAt = run.TimeCreated;
            }
            else
            {
                plan.Steps[first].Event.ExtraMetadata["steps"] = JoinArrivals.Outputs(arrived);
            }

            decisions.Add((group.Key.WorkflowRunId, group.Key.ActionId, JoinArrivals.Name(verdict.Kind), run.TimeCreated));
        }

        return new JoinOutcome([.. runs.Where((_, i) => !drop.Contains(i))], decisions);
    }

    /// <summary>
    /// The workflow-run status each ended run asks for, as the statuses apply in turn (in order of first appearance,
    /// each with its latest time), under <see cref="WorkflowRunLifecycle"/>.
    /// </summary>
    private static Dictionary<long, (WorkflowRunStatus Status, DateTime At)> WorkflowRunStatuses(IEnumerable<(long WorkflowRunId, RunCompletion Completion)> ended)
    {
        var final = new Dictionary<long, (WorkflowRunStatus Status, DateTime At)>();
        foreach (var group in ended.Where(e => e.Completion.WorkflowRunStatus is not null).GroupBy(e => e.Completion.WorkflowRunStatus!.Value))
        {
            var at = group.Max(e => e.Completion.FinishedAt);
            foreach (var id in group.Select(e => e.WorkflowRunId).Distinct())
            {
                if (final.TryGetValue(id, out var current) && !WorkflowRunLifecycle.Settles(current.Status))
                {
                    continue;
                }

                final[id] = (group.Key, at);
            }
        }

        return final;
    }

    private static NpgsqlBatchCommand EventRows(IReadOnlyList<Event> events)
    {
        var columns = new List<NpgsqlParameter>(19);
        AddEventColumns(columns, events, withId: true);
        return Command(InsertEvents, [.. columns]);
    }

    /// <summary>The events' columns in <see cref="InsertEvents"/>'s order, the id first if <paramref name="withId"/>.</summary>
    private static void AddEventColumns(List<NpgsqlParameter> columns, IReadOnlyList<Event> events, bool withId)
    {
        if (withId)
        {
            columns.Add(Column(events, e => e.Id, NpgsqlDbType.Bigint));
        }

        columns.Add(Column(events, e => e.ProjectId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.Kind, NpgsqlDbType.Text));
        columns.Add(Column(events, e => e.WorkflowId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.ActionId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.FileId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.TaskId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.JobId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.DirectoryId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.InputId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.MemberId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => e.Description, NpgsqlDbType.Text));
        columns.Add(Column(events, e => e.ErrorLog, NpgsqlDbType.Text));
        columns.Add(JsonColumn(events, e => e.ExtraMetadata, EventJson.ExtraMetadata));
        columns.Add(JsonColumn(events, e => e.Payload, EventJson.Payload));
        columns.Add(Column(events, e => e.Source, NpgsqlDbType.Text));
        columns.Add(Column(events, e => e.DedupKey, NpgsqlDbType.Text));
        columns.Add(Column(events, e => e.WorkflowRunId, NpgsqlDbType.Bigint));
        columns.Add(Column(events, e => (DateTime?)Utc(e.TimeCreated), NpgsqlDbType.TimestampTz));
    }

    private static void AddRunRows(NpgsqlBatch batch, RunPlan plan, List<ActionRun> runs)
    {
        if (plan.Windowed.Count > 0)
        {
            // A windowed step's event goes into its window for the processor to fold, in this same transaction.
            var entries = plan.CreateEntries();
            batch.BatchCommands.Add(Command(InsertWindowEntries,
                Column(entries, e => e.ActionId, NpgsqlDbType.Bigint),
                Column(entries, e => e.ProjectId, NpgsqlDbType.Bigint),
                Column(entries, e => e.WindowKey, NpgsqlDbType.Text),
                Column(entries, e => e.EventId, NpgsqlDbType.Bigint),
                Column(entries, e => (DateTime?)Utc(e.TimeCreated), NpgsqlDbType.TimestampTz)));
        }

        if (plan.NewWorkflowRuns.Count > 0)
        {
            var started = plan.NewWorkflowRuns;
            batch.BatchCommands.Add(Command(InsertWorkflowRuns,
                Column(started, w => w.Id, NpgsqlDbType.Bigint),
                Column(started, w => w.ProjectId, NpgsqlDbType.Bigint),
                Column(started, w => w.WorkflowId, NpgsqlDbType.Bigint),
                Column(started, w => w.RootEventId, NpgsqlDbType.Bigint),
                Column(started, w => EnumNames.ToDatabase(w.Status), NpgsqlDbType.Text),
                Column(started, w => (DateTime?)Utc(w.TimeCreated), NpgsqlDbType.TimestampTz)));
        }

        if (runs.Count == 0)
        {
            return;
        }

        batch.BatchCommands.Add(Command(InsertActionRuns,
            Column(runs, r => r.Id, NpgsqlDbType.Bigint),
            Column(runs, r => r.ProjectId, NpgsqlDbType.Bigint),
            Column(runs, r => r.WorkflowId, NpgsqlDbType.Bigint),
            Column(runs, r => r.ActionId, NpgsqlDbType.Bigint),
            Column(runs, r => r.WorkflowRunId, NpgsqlDbType.Bigint),
            Column(runs, r => r.EventId, NpgsqlDbType.Bigint),
            Column(runs, r => r.Kind, NpgsqlDbType.Text),
            Column(runs, r => EnumNames.ToDatabase(r.Status), NpgsqlDbType.Text),
            Column(runs, r => r.Attempt, NpgsqlDbType.Integer),
            Column(runs, r => (DateTime?)Utc(r.TimeCreated), NpgsqlDbType.TimestampTz),
            Column(runs, r => Utc(r.StartedAt), NpgsqlDbType.TimestampTz),
            Column(runs, r => Utc(r.LeaseUntil), NpgsqlDbType.TimestampTz),
            Column(runs, r => r.WorkerId, NpgsqlDbType.Text),
            Column(runs, r => r.ErrorReason, NpgsqlDbType.Text),
            Column(runs, r => Utc(r.FinishedAt), NpgsqlDbType.TimestampTz)));

        // A pending run's trigger carries its id, so the actions consumer claims many in one statement; a held run has none.
        AddTriggerRows(batch, [.. runs.Where(r => r.Status == ActionRunStatus.Pending)
            .Select(r => (r.EventId, new TriggerMessage(r.EventId, r.ActionId, r.ProjectId, r.Id).ToOutbox(r.TimeCreated)))]);
    }

    private static void AddTriggerRows(NpgsqlBatch batch, List<(long EventId, OutboxMessage Message)> triggers)
    {
        if (triggers.Count == 0)
        {
            return;
        }

        batch.BatchCommands.Add(Command(InsertTriggers,
            Column(triggers, t => t.Message.Queue, NpgsqlDbType.Text),
            Column(triggers, t => t.Message.Body, NpgsqlDbType.Bytea),
            Column(triggers, t => (DateTime?)Utc(t.Message.TimeCreated), NpgsqlDbType.TimestampTz),
            Column(triggers, t => Utc(t.Message.AvailableAt), NpgsqlDbType.TimestampTz),
            Column(triggers, t => t.EventId, NpgsqlDbType.Bigint)));
    }

    /// <summary>Extends the leases of the runs this worker still holds and nobody has locked.</summary>
    public static async Task RenewLeasesAsync(
        NpgsqlConnection connection, long[] runIds, string workerId, DateTime leaseUntil, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(RenewLeases, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Utc(leaseUntil), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        // A command of its own, not a batch: its parameter is not one of the kept ones.
        command.Parameters.Add(new NpgsqlParameter { Value = runIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = workerId, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = Enumerable.Repeat(AttemptEndsFrom, runIds.Length).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Opens a batch with BEGIN and the planner settings of <see cref="KeyLookupsOnly"/>, for this transaction only.</summary>
    private static void BeginKeyLookups(NpgsqlBatch batch)
    {
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(KeyLookupsOnly));
    }

    /// <summary>Moves the reader of a batch opened by <see cref="BeginKeyLookups"/> to the first statement after it.</summary>
    private static async Task SkipKeyLookupsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        // BEGIN returns no rows; the settings' SELECT returns one, the first of the batch.
        await SkipEmptyResultsAsync(reader, cancellationToken);
        await reader.NextResultAsync(cancellationToken);
    }

    /// <summary>Moves past the results of statements that return no rows (BEGIN), if the reader stops at them.</summary>
    private static async Task SkipEmptyResultsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        while (reader.FieldCount == 0 && await reader.NextResultAsync(cancellationToken))
        {
        }
    }

    /// <summary>Reads past every remaining statement of a batch, so that an error in any of them is thrown.</summary>
    private static async Task DrainAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        while (await reader.NextResultAsync(cancellationToken))
        {
        }
    }

    /// <summary>Ends a transaction begun in a batch after a failure, if the connection still works (its pool would too).</summary>
    private static async Task RollBackQuietlyAsync(NpgsqlConnection connection)
    {
        try
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
            await rollback.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // The connection is broken: the server has ended the transaction with it.
        }
    }

    private static async Task<AllocatedIds> AllocateAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, int events, RunPlan plan, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(AllocateCommand(events, plan));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await ReadIdsAsync(reader, cancellationToken);
    }

    private static NpgsqlBatchCommand AllocateCommand(int events, RunPlan plan) => Command(AllocateIds,
        new NpgsqlParameter { Value = events, NpgsqlDbType = NpgsqlDbType.Integer },
        new NpgsqlParameter { Value = plan.NewWorkflowRuns.Count, NpgsqlDbType = NpgsqlDbType.Integer },
        new NpgsqlParameter { Value = plan.StepCount, NpgsqlDbType = NpgsqlDbType.Integer });

    private static async Task<AllocatedIds> ReadIdsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        await reader.ReadAsync(cancellationToken);
        return new AllocatedIds(reader.GetFieldValue<long[]>(0), reader.GetFieldValue<long[]>(1), reader.GetFieldValue<long[]>(2));
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter Column<T>(IEnumerable<T> values, NpgsqlDbType elementType)
    {
        var parameter = PooledArrayParameters.Rent<T>(elementType, out var list);
        list.AddRange(values);
        return parameter;
    }

    /// <summary>An array parameter of one value per row: filled in one pass, with no iterator per column.</summary>
    private static NpgsqlParameter Column<TRow, T>(IReadOnlyList<TRow> rows, Func<TRow, T> value, NpgsqlDbType elementType)
    {
        var parameter = PooledArrayParameters.Rent<T>(elementType, out var values);
        values.EnsureCapacity(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            values.Add(value(rows[i]));
        }

        return parameter;
    }

    /// <summary>A <c>jsonb[]</c> parameter of one value per row: the texts written into one pooled buffer, which goes back with the parameter.</summary>
    private static NpgsqlParameter JsonColumn<TRow>(IReadOnlyList<TRow> rows, Func<TRow, JsonObject?> value, AsWritten<TRow>? asWritten = null)
    {
        var parameter = PooledArrayParameters.Rent<ReadOnlyMemory<byte>?>(NpgsqlDbType.Jsonb, out var values);
        PooledArrayParameters.Own(parameter, JsonObjectConverter.ToPooledUtf8(rows, value, values, asWritten));
        return parameter;
    }

    private static DateTime Utc(DateTime value) => UtcDateTimeConverter.ToUtc(value);

    private static DateTime? Utc(DateTime? value) => value is { } v ? UtcDateTimeConverter.ToUtc(v) : null;

    private sealed record AllocatedIds(long[] Events, long[] WorkflowRuns, long[] ActionRuns);

    /// <summary>Numbers what hangs on the <paramref name="written"/> events from <paramref name="ids"/> and drops the rest.</summary>
    private static List<ActionRun> Bind(RunPlan plan, AllocatedIds ids, HashSet<Event> written)
    {
        plan.KeepOnly(written);
        for (var i = 0; i < plan.NewWorkflowRuns.Count; i++)
        {
            plan.NewWorkflowRuns[i].Id = ids.WorkflowRuns[i];
        }

        plan.SetRoots();
        return plan.CreateRuns(i => ids.ActionRuns[i]);
    }
}
