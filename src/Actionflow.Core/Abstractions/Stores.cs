using System.Text.Json.Nodes;
using Actionflow.Core.Domain;

namespace Actionflow.Core.Abstractions;

/// <summary>The trigger of one active step, as the in-memory index holds it.</summary>
public sealed record TriggerDefinition(
    long ActionId,
    long ProjectId,
    long WorkflowId,
    string Kind,
    int Ordinal,
    string EventName,
    JsonObject TriggerData,
    JsonObject ConfigData,
    long? PreviousActionId)
{
    /// <summary>The step as of the same load, for the actions consumer's re-check (null when the source gives none).</summary>
    public ActionSnapshot? Snapshot { get; init; }

    /// <summary>The steps whose completion starts this one, when it declares them (<c>depends_on</c>); else <see cref="PreviousActionId"/> does.</summary>
    public IReadOnlyList<long> DependsOn { get; init; } = [];
}

/// <summary>
/// A step an event starts: its run is recorded <c>pending</c> with the event, and its trigger sent; or, when
/// <see cref="HeldBy"/> is set, recorded <c>running</c> under that lease, with no trigger, for the caller to run in process;
/// or, for a step with a window (<see cref="WindowKey"/> set), the event is recorded as an entry of the step's window
/// for that key instead of a run.
/// </summary>
public readonly record struct MatchedStep(long ActionId, long WorkflowId, string Kind)
{
    public StepLease? HeldBy { get; init; }

    /// <summary>The event's value at the step's <c>trigger_data.window.key</c> (canonical JSON text), for a windowed step.</summary>
    public string? WindowKey { get; init; }

    /// <summary>Set when the step is recorded <c>skipped</c> with this reason instead of run (a condition that did not hold, an else branch not taken).</summary>
    public string? SkipReason { get; init; }

    /// <summary>Set when the step is recorded <c>failed</c> with this reason instead of run (a join whose predecessor failed, set to fail).</summary>
    public string? FailReason { get; init; }

    /// <summary>
    /// Set for a join (a step with several <c>depends_on</c>): a predecessor's arrival, which the store records with the
    /// join's durable state; the run is written only by the arrival that decides the join (<see cref="FlowControl.JoinRule"/>), once.
    /// </summary>
    public FlowControl.JoinArrival? Join { get; init; }

    /// <summary>True when the event goes into the step's window rather than starting a run now.</summary>
    public bool Windowed => WindowKey is not null;
}

/// <summary>The claim written on a run recorded for its caller to run: attempt 1, started now, held until <see cref="LeaseUntil"/>.</summary>
public sealed record StepLease(string WorkerId, DateTime StartedAt, DateTime LeaseUntil);

/// <summary>What <see cref="IPipelineStore.AcceptEventAsync"/> did.</summary>
/// <param name="HeldRuns">The runs of the steps marked <see cref="MatchedStep.HeldBy"/>, recorded running and held by the caller.</param>
public sealed record AcceptedEvent(Event Event, bool Inserted, IReadOnlyList<ActionRun> HeldRuns)
{
    public void Deconstruct(out Event ev, out bool inserted) => (ev, inserted) = (Event, Inserted);
}

/// <summary>What <see cref="IPipelineStore.CompleteRunAsync"/> did.</summary>
/// <param name="Recorded">False when the caller no longer held the run, and nothing was written.</param>
/// <param name="HeldRuns">The next steps' runs marked <see cref="MatchedStep.HeldBy"/>, recorded running and held by the caller.</param>
public sealed record CompletionRecorded(bool Recorded, IReadOnlyList<ActionRun> HeldRuns)
{
    public static readonly CompletionRecorded NotHeld = new(false, []);
}

/// <summary>A step with what the actions consumer re-checks before running it.</summary>
public sealed record ActionSnapshot(
    WorkflowAction Action,
    bool WorkflowActive,
    bool WorkflowArchived,
    long? PreviousActionId,
    bool HasNextStep)
{
    /// <summary>The workflow's <c>concurrency_limit</c>: at most this many runs of its steps at once; null: none.</summary>
    public int? WorkflowConcurrencyLimit { get; init; }
}

/// <summary>Asks to run (or resume) the run of <see cref="ActionId"/> for <see cref="EventId"/>.</summary>
public sealed record RunClaimRequest(
    long EventId,
    long ActionId,
    long ProjectId,
    long WorkflowId,
    string Kind,
    long? EventWorkflowRunId,
    string WorkerId,
    DateTime Now,
    DateTime LeaseUntil);

public enum RunClaimState
{
    /// <summary>The caller holds the run (status running, attempt counted) until its lease ends.</summary>
    Claimed,
    /// <summary>The run already ended; nothing to do.</summary>
    AlreadyTerminal,
    /// <summary>Another worker holds a live lease on it.</summary>
    HeldElsewhere,
    /// <summary>It waits for a retry that is not due yet (<see cref="ActionRun.NextAttemptAt"/>).</summary>
    NotDue,
}

public sealed record RunClaim(RunClaimState State, ActionRun Run);

/// <summary>Asks to claim the recorded run of (<see cref="EventId"/>, <see cref="ActionId"/>), known by id when the trigger carries it.</summary>
public sealed record PendingClaim(long EventId, long ActionId, long? RunId, string WorkerId, DateTime Now, DateTime LeaseUntil);

/// <summary>A run claimed by <see cref="IPipelineStore.TryClaimPendingRunAsync"/>, with its event.</summary>
public sealed record ClaimedRun(ActionRun Run, Event Event);

/// <summary>How a claimed run's attempt ended.</summary>
/// <param name="NextAttemptAt">
/// Set when the run goes on later: an attempt that failed and will be tried again (<see cref="ActionRunStatus.Retrying"/>),
/// or a success that takes effect then (<see cref="ActionRunStatus.Waiting"/>). In the same transaction its trigger is
/// written to the outbox, hidden until then; a waiting run also keeps it as <see cref="ActionRun.WaitedUntil"/>.
/// </param>
/// <param name="Attempt">The attempt's record (its run id is filled in by the store).</param>
public sealed record RunCompletion(
    long RunId,
    string WorkerId,
    ActionRunStatus Status,
    JsonObject? Output,
    string? ErrorReason,
    string? ErrorType,
    DateTime FinishedAt,
    WorkflowRunStatus? WorkflowRunStatus,
    DateTime? NextAttemptAt = null,
    ActionRunAttempt? Attempt = null);

/// <summary>Durable state of the pipeline. Each method is one transaction.</summary>
public interface IPipelineStore
{
    /// <summary>
    /// Records <paramref name="ev"/> and, in the same transaction, per matched step a <c>pending</c> action run (in a
    /// new workflow run per workflow) and a trigger message. When an event with the same (project,
    /// <see cref="Event.DedupKey"/>) exists, nothing is written and the existing event is returned with
    /// <c>Inserted = false</c>. Concurrent calls are committed together (group commit); each returns once its event is durable.
    /// Steps marked <see cref="MatchedStep.HeldBy"/> get no trigger: their runs are recorded held by the caller.
    /// </summary>
    Task<AcceptedEvent> AcceptEventAsync(Event ev, IReadOnlyList<MatchedStep> matchedSteps, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="AcceptEventAsync(Event, IReadOnlyList{MatchedStep}, CancellationToken)"/>, for an event delivered as
    /// <paramref name="receipt"/>: a store that can deletes the queue row in the transaction that records the event and
    /// marks the receipt <see cref="QueueReceipt.Consumed"/> once it committed. A store that does not (and a duplicate,
    /// which writes nothing) leaves the row to the transport's ack.
    /// </summary>
    Task<AcceptedEvent> AcceptEventAsync(Event ev, IReadOnlyList<MatchedStep> matchedSteps, QueueReceipt? receipt, CancellationToken cancellationToken) =>
        AcceptEventAsync(ev, matchedSteps, cancellationToken);

    Task<Event?> FindEventAsync(long eventId, CancellationToken cancellationToken);

    Task<ActionSnapshot?> LoadActionAsync(long actionId, CancellationToken cancellationToken);

    /// <summary>
    /// The common case: claims the run when it exists and is claimable now (pending, a due retry, or running with an
    /// expired lease) and its workflow run is not canceled. Null otherwise: then <see cref="ClaimRunAsync"/> tells why,
    /// or creates the run. Claims carrying a run id are claimed together with concurrent ones (two statements per batch).
    /// </summary>
    Task<ClaimedRun?> TryClaimPendingRunAsync(PendingClaim claim, CancellationToken cancellationToken);

    /// <summary>Gets or creates the workflow run and the action run (unique per event and action) and claims it.</summary>
    Task<RunClaim> ClaimRunAsync(RunClaimRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Ends a run the caller holds and, in the same transaction, records <paramref name="emitted"/> (if any) with one
    /// <c>pending</c> run and trigger message per matched step (or a held run, for steps marked
    /// <see cref="MatchedStep.HeldBy"/>). Writes nothing when the caller no longer holds the run.
    /// </summary>
    Task<CompletionRecorded> CompleteRunAsync(RunCompletion completion, Event? emitted, IReadOnlyList<MatchedStep> emittedMatches, CancellationToken cancellationToken);

    /// <summary>
    /// Finds runs left <c>running</c> whose lease ended before <paramref name="expiredBefore"/> (their worker died and
    /// no message brought them back), makes them <c>pending</c> again and writes their triggers to the outbox.
    /// Returns how many it re-queued.
    /// </summary>
    Task<int> RequeueAbandonedRunsAsync(DateTime expiredBefore, DateTime now, int max, CancellationToken cancellationToken);

    /// <summary>Extends the leases of runs this worker is executing.</summary>
    Task RenewLeasesAsync(IReadOnlyCollection<long> runIds, string workerId, DateTime leaseUntil, CancellationToken cancellationToken);
}

/// <summary>Asks for a slot for a run the caller holds, under its step's and its workflow's concurrency limits.</summary>
/// <param name="Key">The run's key (<see cref="FlowControl.StepConcurrency.KeyOf"/>). The limits are read with the slots, as saved.</param>
public sealed record AdmissionRequest(long RunId, string WorkerId, long WorkflowId, string Key, DateTime Now);

/// <summary>A step's runs with one concurrency key.</summary>
public sealed record SlotKey(long ActionId, string Key);

public enum AdmissionState
{
    /// <summary>The run has its slot (now or earlier): it runs.</summary>
    Admitted,
    /// <summary>No slot is free for it: it was recorded <c>waiting</c> with the reason, and released by the caller.</summary>
    Waits,
    /// <summary>The caller no longer holds the run (canceled, taken over): nothing was written.</summary>
    NotHeld,
}

/// <param name="Reason">Why it waits ("waiting: key 7 has 1 of 1 runs running").</param>
/// <param name="Released">Other waiting runs given a slot by the same decision (their triggers are in the outbox).</param>
/// <param name="AdmittedAt">When the run got its slot (its start: <see cref="ActionRun.StartedAt"/> is set to it).</param>
public sealed record AdmissionResult(AdmissionState State, string? Reason = null, int Released = 0, DateTime? AdmittedAt = null);

/// <summary>
/// The slots of concurrency limits, decided in the database so that every worker agrees (a lock per workflow, then
/// <see cref="FlowControl.ConcurrencyAdmission.Decide"/> over the runs holding slots and the runs waiting, in arrival order).
/// A run waiting for a slot is a <c>waiting</c> row with no trigger; admitting it writes its trigger to the outbox.
/// </summary>
public interface IConcurrencyStore
{
    /// <summary>Admits the run, or records it waiting with the reason; either way, also admits waiting runs that now fit.</summary>
    Task<AdmissionResult> AdmitAsync(AdmissionRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Gives free slots of <paramref name="workflowId"/> to its waiting runs, in arrival order (after a run holding a slot
    /// ended). <paramref name="freed"/>: the step and key of the run that ended, when known (without a workflow limit
    /// only its key can have a free slot); null: every key. Returns how many it admitted.
    /// </summary>
    Task<int> ReleaseAsync(long workflowId, SlotKey? freed, DateTime now, CancellationToken cancellationToken);

    /// <summary>The safety net: <see cref="ReleaseAsync"/> for every workflow with runs waiting for a slot (at most <paramref name="maxWorkflows"/>).</summary>
    Task<int> SweepAsync(DateTime now, int maxWorkflows, CancellationToken cancellationToken);
}

/// <summary>Workflow definitions, for the in-memory trigger index.</summary>
public interface IDefinitionSource
{
    /// <summary>The triggers of every active, non-archived step of every active, non-archived workflow.</summary>
    Task<IReadOnlyList<TriggerDefinition>> LoadTriggersAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The version, a number that changes whenever a workflow or action changes, with what an index needs to know to
    /// follow it by changes alone (one read of one row).
    /// </summary>
    Task<DefinitionsStamp> GetStampAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The workflows changed after <paramref name="sinceVersion"/> (created, edited, deactivated, archived, a step added
    /// or changed) with the triggers they have now (none for a workflow that no longer runs); null when more than
    /// <paramref name="maxWorkflows"/> changed, so that a full load is cheaper.
    /// </summary>
    Task<DefinitionChanges?> LoadChangesAsync(long sinceVersion, int maxWorkflows, CancellationToken cancellationToken);
}

/// <summary>
/// The definitions version, and the last version whose change cannot be told workflow by workflow (a workflow row
/// deleted, a bump with no workflow named): an index older than <paramref name="FullReloadVersion"/> reloads in full.
/// </summary>
public sealed record DefinitionsStamp(long Version, long FullReloadVersion);

/// <summary>Workflows changed since a version, and every trigger they have now: their steps replace all of theirs in the index.</summary>
public sealed record DefinitionChanges(IReadOnlyList<long> WorkflowIds, IReadOnlyList<TriggerDefinition> Triggers);

/// <summary>Action templates, kept in step with the registered runners.</summary>
public interface ITemplateStore
{
    /// <summary>Creates missing templates, updates changed ones, marks those without a runner unavailable.</summary>
    Task<TemplateSyncResult> SyncAsync(IReadOnlyList<ActionTemplate> declared, DateTime now, CancellationToken cancellationToken);
}

public sealed record TemplateSyncResult(int Created, int Updated, int MarkedUnavailable);

/// <summary>Moves outbox rows to the broker: claims a batch (other workers skip it), publishes, deletes on success.</summary>
public interface IOutboxStore
{
    /// <summary>
    /// Claims up to <paramref name="max"/> rows, calls <paramref name="publish"/>, and deletes them if it returns;
    /// if it throws, the rows stay for a later attempt. Returns the number of rows published.
    /// </summary>
    Task<int> RelayAsync(int max, Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, CancellationToken cancellationToken);

    /// <summary>When the earliest row hidden after <paramref name="now"/> falls due (a delayed retry, the end of a wait); null when none is.</summary>
    Task<DateTime?> NextDueAsync(DateTime now, CancellationToken cancellationToken);
}

/// <summary>The embedded transport's queue: outbox rows consumed in place.</summary>
public interface IEmbeddedQueueStore
{
    Task EnqueueAsync(OutboxMessage message, CancellationToken cancellationToken);

    /// <summary>Takes up to <paramref name="max"/> visible rows of <paramref name="queue"/>, hiding them until <paramref name="hiddenUntil"/> and counting a delivery.</summary>
    Task<IReadOnlyList<OutboxMessage>> LeaseAsync(string queue, int max, DateTime now, DateTime hiddenUntil, CancellationToken cancellationToken);

    Task DeleteAsync(long id, CancellationToken cancellationToken);

    Task RescheduleAsync(long id, DateTime availableAt, CancellationToken cancellationToken);

    Task DeadLetterAsync(OutboxMessage message, string reason, string? exceptionType, DateTime now, CancellationToken cancellationToken);

    /// <summary>When the earliest row of <paramref name="queue"/> hidden after <paramref name="now"/> falls due; null when none is.</summary>
    Task<DateTime?> NextDueAsync(string queue, DateTime now, CancellationToken cancellationToken);

    /// <summary>Makes every hidden row visible again: at start, no other process can be holding one.</summary>
    Task ReleaseAllAsync(CancellationToken cancellationToken);
}

/// <summary>What a person does to runs through the API: retry a failed workflow run, cancel one, replay a dead letter.</summary>
/// <remarks>Every change goes through <see cref="RunLifecycle"/> and <see cref="WorkflowRunLifecycle"/>; refused ones say why.</remarks>
public interface IRunControl
{
    /// <summary>Reopens the failed steps of a failed workflow run (<see cref="RunTransition.Reopen"/>) and queues their triggers.</summary>
    Task<RunControlResult> RetryWorkflowRunAsync(long projectId, long workflowRunId, DateTime now, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="fromActionId"/> again in an ended workflow run, and the steps after it as they follow: a new
    /// attempt of the workflow run (the earlier runs stay as they are). The step runs on a copy of the event its last
    /// run in this workflow run had, with <c>extra_metadata</c> replaced by <paramref name="input"/> when given.
    /// </summary>
    Task<RerunResult> RerunFromAsync(long projectId, long workflowRunId, long fromActionId, JsonObject? input, DateTime now, CancellationToken cancellationToken);

    /// <summary>Cancels a running or failed workflow run and its pending, running and retrying steps.</summary>
    Task<RunControlResult> CancelWorkflowRunAsync(long projectId, long workflowRunId, string reason, DateTime now, CancellationToken cancellationToken);

    /// <summary>
    /// Puts a dead letter back on its queue; for a trigger whose run failed, the run is reopened first, exactly as a
    /// retry reopens it. <paramref name="projectId"/> null: any project (installation level).
    /// </summary>
    Task<ReplayResult> ReplayDeadLetterAsync(long? projectId, long deadLetterId, DateTime now, CancellationToken cancellationToken);
}

public enum RunControlOutcome
{
    Done,
    NotFound,
    /// <summary>The lifecycle refused: <see cref="RunControlResult.Refusal"/> says why.</summary>
    Refused,
}

/// <param name="Changed">How many action runs changed.</param>
public sealed record RunControlResult(RunControlOutcome Outcome, int Changed = 0, string? Refusal = null);

/// <param name="Attempt">The workflow run's attempt the rerun is (2 for the first rerun).</param>
/// <param name="RefusedField">For a refusal caused by the request (the step named), the field; null when the workflow run's state refuses it.</param>
public sealed record RerunResult(RunControlOutcome Outcome, long? RunId = null, int Attempt = 0, string? Refusal = null, string? RefusedField = null);

/// <param name="Queue">The logical queue the message went back to.</param>
/// <param name="ReopenedRunId">The action run reopened for it, if any.</param>
public sealed record ReplayResult(bool Found, string Queue = "", long? ReopenedRunId = null);

/// <summary>Dead letters kept in the database, to list and replay.</summary>
public interface IDeadLetterStore
{
    Task AddAsync(DeadLetter deadLetter, CancellationToken cancellationToken);
}
