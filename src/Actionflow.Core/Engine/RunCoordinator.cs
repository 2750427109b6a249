using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;
using Actionflow.Sdk;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Core.Engine;

/// <summary>
/// Runs one step for one event: claims the run (unique per event and action), re-checks the definitions, applies
/// the trigger filters and preconditions, executes the runner, and records the outcome together with the event it
/// emits (<c>action_completed</c> or <c>action_failed</c>) and the triggers of the next steps, in one transaction.
/// </summary>
public sealed class RunCoordinator(
    IPipelineStore store,
    ActionSnapshotCache snapshots,
    RunnerRegistry registry,
    TriggerIndex index,
    LeaseKeeper leases,
    IOutboxSignal signal,
    RetryWakeups wakeups,
    IServiceScopeFactory scopes,
    ILoggerFactory loggerFactory,
    IOptions<EngineOptions> options,
    TimeProvider time)
{
    /// <summary>A chain this many steps deep in one worker continues through the actions queue instead.</summary>
    private const int MaxInProcessDepth = 32;

    private static readonly ConcurrentDictionary<Type, ConstructorInfo> ContextConstructors = new();
    private readonly ILogger _logger = loggerFactory.CreateLogger<RunCoordinator>();

    /// <summary>
    /// Marks the first <see cref="EngineOptions.InProcessSteps"/> of <paramref name="matches"/> to be recorded held by
    /// this worker, under a lease that starts now; the caller then runs them with <see cref="RunHeldAsync"/>.
    /// </summary>
    public IReadOnlyList<MatchedStep> RunHere(IReadOnlyList<MatchedStep> matches)
    {
        ArgumentNullException.ThrowIfNull(matches);
        var engine = options.Value;
        if (engine.InProcessSteps == 0 || matches.Count == 0)
        {
            return matches;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var lease = new StepLease(engine.WorkerId, now, now + engine.LeaseDuration);
        var marked = new MatchedStep[matches.Count];
        for (var i = 0; i < marked.Length; i++)
        {
            marked[i] = i < engine.InProcessSteps ? matches[i] with { RunHere = lease } : matches[i];
        }

        return marked;
    }

    /// <summary>
    /// Runs the runs <paramref name="ev"/> started that were recorded held by this worker, at once, each with the chain it
    /// continues. A run that cannot finish here (the database stays down past its lease, or the host stops) stays
    /// recorded running; once its lease has run out the abandoned-run sweeper hands it to the actions queue.
    /// </summary>
    public Task RunHeldAsync(Event ev, IReadOnlyList<ActionRun> runs, CancellationToken cancellationToken) =>
        RunHeldAsync(ev, runs, 0, cancellationToken);

    private Task RunHeldAsync(Event ev, IReadOnlyList<ActionRun> runs, int depth, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(runs);
        return runs.Count switch
        {
            0 => Task.CompletedTask,
            1 => RunHeldAsync(ev, runs[0], depth, cancellationToken),
            _ => Task.WhenAll(runs.Select(run => RunHeldAsync(ev, run, depth, cancellationToken))),
        };
    }

    private async Task RunHeldAsync(Event ev, ActionRun run, int depth, CancellationToken cancellationToken)
    {
        try
        {
            var snapshot = await snapshots.GetAsync(run.ActionId, cancellationToken);
            if (snapshot is null)
            {
                // Deleted since it matched: recorded failed, as a trigger for it would be dead-lettered.
                var now = time.GetUtcNow().UtcDateTime;
                await RecordAsync(
                    new RunCompletion(run.Id, options.Value.WorkerId, ActionRunStatus.Failed, null, $"action {run.ActionId} no longer exists", "UnknownAction", now, WorkflowRunStatus.Failed),
                    null, [], runHere: false, cancellationToken);
                return;
            }

            // The outcome is for a trigger message, and a held run has none: its record says how it ended.
            await RunClaimedAsync(snapshot, ev, run, depth, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.HeldRunLeft(_logger, run.Id, ex);
        }
    }

    public async Task<HandlingOutcome> RunAsync(TriggerMessage trigger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        // The next steps are matched against the index when this run completes: never against an empty one.
        await index.WaitReadyAsync(cancellationToken);
        var snapshot = await snapshots.GetAsync(trigger.ActionId, cancellationToken);
        if (snapshot is null || snapshot.Action.ProjectId != trigger.ProjectId)
        {
            return Invalid(trigger, $"action {trigger.ActionId} does not exist in project {trigger.ProjectId}");
        }

        var action = snapshot.Action;
        var engine = options.Value;
        var now = time.GetUtcNow().UtcDateTime;

        // The common case: the run was recorded pending with its event, and this claims it in one statement.
        var pending = new PendingClaim(trigger.EventId, action.Id, trigger.RunId, engine.WorkerId, now, now + engine.LeaseDuration);
        if (await store.TryClaimPendingRunAsync(pending, cancellationToken) is { } claimed)
        {
            return await RunClaimedAsync(snapshot, claimed.Event, claimed.Run, 0, cancellationToken);
        }

        // Otherwise find out why (ended, held, not due, canceled), or create the run (a trigger written before runs were recorded with their event).
        var ev = await store.FindEventAsync(trigger.EventId, cancellationToken);
        if (ev is null || ev.ProjectId != trigger.ProjectId)
        {
            return Invalid(trigger, $"event {trigger.EventId} does not exist in project {trigger.ProjectId}");
        }

        var claim = await store.ClaimRunAsync(
            new RunClaimRequest(ev.Id, action.Id, action.ProjectId, action.WorkflowId, action.Kind, ev.WorkflowRunId, engine.WorkerId, now, now + engine.LeaseDuration),
            cancellationToken);

        switch (claim.State)
        {
            case RunClaimState.AlreadyTerminal:
                Log.RunAlreadyTerminal(_logger, claim.Run.Id, action.Id, ev.Id);
                return HandlingOutcome.Ack;
            case RunClaimState.HeldElsewhere when claim.Run.WorkerId == engine.WorkerId:
                // This process is running it right now; this copy is a duplicate delivery.
                return HandlingOutcome.Ack;
            case RunClaimState.HeldElsewhere:
                Log.RunHeldElsewhere(_logger, claim.Run.Id, claim.Run.WorkerId, claim.Run.LeaseUntil);
                var wait = (claim.Run.LeaseUntil ?? now) - now;
                return HandlingOutcome.Retry(Clamp(wait, TimeSpan.FromMilliseconds(200), engine.LeaseDuration), "run held by another worker");
            case RunClaimState.NotDue:
                // Early (a repeated copy, or released early): come back when it is due rather than drop it.
                var due = (claim.Run.NextAttemptAt ?? now) - now;
                return HandlingOutcome.Retry(Clamp(due, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(15)), "retry not due yet");
        }

        return await RunClaimedAsync(snapshot, ev, claim.Run, 0, cancellationToken);
    }

    /// <param name="depth">How many steps of this chain ran before this one in this call (0 for a trigger's step).</param>
    private async Task<HandlingOutcome> RunClaimedAsync(ActionSnapshot snapshot, Event ev, ActionRun run, int depth, CancellationToken cancellationToken)
    {
        leases.Hold(run.Id);
        HandlingOutcome handled;
        CompletionRecorded recorded;
        Event? emitted;
        try
        {
            var outcome = await ExecuteAsync(snapshot, ev, run, cancellationToken);
            (handled, recorded, emitted) = await CompleteAsync(snapshot, ev, run, outcome, depth, cancellationToken);
        }
        finally
        {
            leases.Release(run.Id);
        }

        if (recorded.HeldRuns.Count > 0)
        {
            await RunHeldAsync(emitted!, recorded.HeldRuns, depth + 1, cancellationToken);
        }

        return handled;
    }

    private async Task<StepOutcome> ExecuteAsync(ActionSnapshot snapshot, Event ev, ActionRun run, CancellationToken cancellationToken)
    {
        var action = snapshot.Action;
        if (action.Archived || !action.Active)
        {
            return StepOutcome.Skip("the step is archived or inactive");
        }

        if (snapshot.WorkflowArchived || !snapshot.WorkflowActive)
        {
            return StepOutcome.Skip("the workflow is inactive or archived");
        }

        if (!string.Equals(action.TriggerEventName, ev.Kind, StringComparison.Ordinal))
        {
            return StepOutcome.Skip($"the step now triggers on '{action.TriggerEventName}', not '{ev.Kind}'");
        }

        if (TriggerFilter.Check(action.Id, action.WorkflowId, snapshot.PreviousActionId, action.TriggerData, ev) is { } filtered)
        {
            return StepOutcome.Skip("filtered: " + filtered);
        }

        await using var scope = scopes.CreateAsyncScope();
        var runner = registry.Resolve(action.Kind, scope.ServiceProvider);
        if (runner is null)
        {
            return StepOutcome.Fail($"no runner is registered for kind '{action.Kind}' (its template is unavailable)", "UnknownActionKind");
        }

        object config;
        try
        {
            config = RunnerRegistry.ReadConfig(runner, action.ConfigData);
        }
        catch (JsonException ex)
        {
            return StepOutcome.Fail($"config_data does not fit the '{action.Kind}' template: {ex.Message}", "InvalidConfig");
        }

        RetryPolicy policy;
        try
        {
            policy = RetryPolicies.For(action, runner);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentOutOfRangeException)
        {
            return StepOutcome.Fail("retry_policy is invalid: " + ex.Message, "InvalidConfig");
        }

        var logger = loggerFactory.CreateLogger("Actionflow.Actions." + action.Kind);
        using var logScope = logger.BeginScope(new Dictionary<string, object> { ["RunId"] = run.Id, ["ActionId"] = action.Id, ["EventId"] = ev.Id });
        var context = CreateContext(runner.ConfigType, action, config, ev, run, logger, scope.ServiceProvider);
        try
        {
            var precondition = await runner.CheckPreconditionsAsync(context, cancellationToken);
            if (!precondition.IsMet)
            {
                return StepOutcome.Skip("precondition not met: " + (precondition.Reason ?? "the runner declined"));
            }

            var result = await runner.ExecuteAsync(context, cancellationToken);
            return result.Succeeded
                ? new StepOutcome(ActionRunStatus.Succeeded, result.Output, null, null)
                : new StepOutcome(ActionRunStatus.Failed, result.Output, result.FailureReason, result.IsRetryable ? "RetryableFailure" : "ActionFailed")
                {
                    Retry = result.IsRetryable ? policy : null,
                    RetryAfter = result.RetryAfter,
                };
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Unexpected: maybe transient (a dependency down), so retried per the policy.
            Log.RunnerThrew(_logger, run.Id, ex);
            return StepOutcome.Fail($"{ex.GetType().Name}: {ex.Message}", ex.GetType().FullName) with { Retry = policy };
        }
    }

    private async Task<(HandlingOutcome Handled, CompletionRecorded Recorded, Event? Emitted)> CompleteAsync(
        ActionSnapshot snapshot, Event ev, ActionRun run, StepOutcome outcome, int depth, CancellationToken cancellationToken)
    {
        var action = snapshot.Action;
        var now = time.GetUtcNow().UtcDateTime;
        var attempt = AttemptRecord(run, outcome, now);
        if (outcome.Retry is { } policy && outcome.Status == ActionRunStatus.Failed && run.Attempt < policy.MaxAttempts)
        {
            var retryAt = now + policy.DelayAfter(run.Attempt, Random.Shared.NextDouble(), outcome.RetryAfter);
            attempt.NextAttemptAt = retryAt;
            var retry = new RunCompletion(run.Id, options.Value.WorkerId, ActionRunStatus.Retrying, outcome.Output, outcome.Reason, outcome.ErrorType, now, null, retryAt, attempt);
            var retried = await RecordAsync(retry, null, [], runHere: false, cancellationToken);
            if (!retried.Recorded)
            {
                Log.RunLost(_logger, run.Id);
                return (HandlingOutcome.Ack, retried, null);
            }

            wakeups.At(QueueNames.ActionTriggers, retryAt);
            ActionflowMetrics.RunEnded("retrying");
            Log.RunRetryScheduled(_logger, run.Id, action.Id, run.Attempt, policy.MaxAttempts, retryAt, outcome.Reason ?? "");
            return (HandlingOutcome.Ack, retried, null);
        }

        Event? emitted = outcome.Status switch
        {
            ActionRunStatus.Succeeded => NewEvent(EventKinds.ActionCompleted, action, ev, run, outcome.Output, null, now),
            ActionRunStatus.Failed => NewEvent(EventKinds.ActionFailed, action, ev, run, outcome.Output, outcome.Reason, now),
            _ => null,
        };
        var matches = emitted is null ? [] : index.MatchSteps(emitted);
        WorkflowRunStatus? workflowRunStatus = outcome.Status switch
        {
            ActionRunStatus.Failed => WorkflowRunStatus.Failed,
            ActionRunStatus.Succeeded when !snapshot.HasNextStep || matches.Count == 0 => WorkflowRunStatus.Succeeded,
            ActionRunStatus.Skipped => ev.WorkflowRunId == run.WorkflowRunId ? WorkflowRunStatus.Succeeded : WorkflowRunStatus.Skipped,
            _ => null,
        };

        var exhausted = outcome.Retry is { MaxAttempts: > 1 } && outcome.Status == ActionRunStatus.Failed;
        var reason = exhausted ? $"failed after {run.Attempt} attempts: {outcome.Reason}" : outcome.Reason;
        var completion = new RunCompletion(run.Id, options.Value.WorkerId, outcome.Status, outcome.Output, reason, outcome.ErrorType, now, workflowRunStatus, null, attempt);
        var recorded = await RecordAsync(completion, emitted, matches, runHere: depth < MaxInProcessDepth, cancellationToken);
        if (!recorded.Recorded)
        {
            Log.RunLost(_logger, run.Id);
            return (HandlingOutcome.Ack, recorded, null);
        }

        if (matches.Count > recorded.HeldRuns.Count)
        {
            signal.Notify(QueueNames.ActionTriggers);
        }

        if (outcome.Status == ActionRunStatus.Failed)
        {
            Log.RunFailed(_logger, run.Id, action.Id, outcome.Reason ?? "");
        }

        Log.RunEnded(_logger, run.Id, action.Id, action.Kind, ev.Id, outcome.Status.ToString(), run.Attempt);
        ActionflowMetrics.RunEnded(outcome.Status.ToString().ToLowerInvariant());
        if (exhausted)
        {
            // The run is recorded failed; its trigger is parked with the reason so it can be looked at and replayed.
            return (HandlingOutcome.DeadLetter(reason!, outcome.ErrorType, new Dictionary<string, string>
            {
                [MessageHeaders.EventId] = ev.Id.ToString(CultureInfo.InvariantCulture),
                [MessageHeaders.ActionId] = action.Id.ToString(CultureInfo.InvariantCulture),
                [MessageHeaders.Attempts] = run.Attempt.ToString(CultureInfo.InvariantCulture),
            }), recorded, emitted);
        }

        return (HandlingOutcome.Ack, recorded, emitted);
    }

    /// <summary>
    /// Records a run's outcome. The side effect has happened by now, so a database that is briefly unavailable must not
    /// make the step run again: the write is retried (0.1 s, doubling to 2 s) for up to one lease duration, after which
    /// another worker may take the run over anyway. Then, or when the host stops, the error goes up and the trigger is
    /// redelivered (at-least-once). With <paramref name="runHere"/>, each try marks the next steps held by this worker
    /// under a lease that starts then.
    /// </summary>
    private async Task<CompletionRecorded> RecordAsync(
        RunCompletion completion, Event? emitted, IReadOnlyList<MatchedStep> matches, bool runHere, CancellationToken cancellationToken)
    {
        var giveUpAt = time.GetUtcNow() + options.Value.LeaseDuration;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await store.CompleteRunAsync(completion, emitted, runHere ? RunHere(matches) : matches, CancellationToken.None);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && time.GetUtcNow() + delay < giveUpAt)
            {
                Log.RecordRetrying(_logger, completion.RunId, (long)delay.TotalMilliseconds, ex);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }

    private static ActionRunAttempt AttemptRecord(ActionRun run, StepOutcome outcome, DateTime now) => new()
    {
        ActionRunId = run.Id,
        Attempt = run.Attempt,
        StartedAt = run.StartedAt,
        FinishedAt = now,
        Status = outcome.Status,
        Error = outcome.Reason,
        ErrorType = outcome.ErrorType,
        WorkerId = run.WorkerId,
    };

    private static Event NewEvent(string kind, WorkflowAction action, Event trigger, ActionRun run, JsonObject? output, string? errorLog, DateTime now)
    {
        var extra = output is null ? [] : (JsonObject)output.DeepClone();
        return new Event
        {
            Kind = kind,
            ProjectId = action.ProjectId,
            WorkflowId = action.WorkflowId,
            ActionId = action.Id,
            FileId = ReadId(extra, "file_id") ?? trigger.FileId,
            TaskId = ReadId(extra, "task_id") ?? trigger.TaskId,
            JobId = ReadId(extra, "job_id") ?? trigger.JobId,
            DirectoryId = ReadId(extra, "directory_id") ?? trigger.DirectoryId,
            InputId = trigger.InputId,
            MemberId = trigger.MemberId,
            ErrorLog = errorLog,
            ExtraMetadata = extra,
            Source = "engine",
            WorkflowRunId = run.WorkflowRunId,
            TimeCreated = now,
        };
    }

    private static long? ReadId(JsonObject obj, string key) => JsonNodes.PositiveId(obj[key]);

    private static ActionContext CreateContext(Type configType, WorkflowAction action, object config, Event ev, ActionRun run, ILogger logger, IServiceProvider services)
    {
        var ctor = ContextConstructors.GetOrAdd(configType, t => typeof(ActionContext<>).MakeGenericType(t).GetConstructors().Single());
        var info = new ActionInfo(action.Id, action.ProjectId, action.WorkflowId, action.Kind, action.PublicName, action.Ordinal,
            (JsonObject)action.TriggerData.DeepClone(), (JsonObject)action.Precondition.DeepClone());
        var actionEvent = new ActionEvent
        {
            Id = ev.Id,
            Kind = ev.Kind,
            ProjectId = ev.ProjectId,
            WorkflowId = ev.WorkflowId,
            ActionId = ev.ActionId,
            FileId = ev.FileId,
            TaskId = ev.TaskId,
            JobId = ev.JobId,
            DirectoryId = ev.DirectoryId,
            InputId = ev.InputId,
            MemberId = ev.MemberId,
            ExtraMetadata = (JsonObject)ev.ExtraMetadata.DeepClone(),
            TimeCreated = ev.TimeCreated,
            Payload = DiffgramEventCodec.ToDiffgramJson(ev),
        };
        return (ActionContext)ctor.Invoke([info, config, actionEvent, new RunInfo(run.Id, run.WorkflowRunId, run.Attempt), logger, services]);
    }

    private HandlingOutcome Invalid(TriggerMessage trigger, string reason)
    {
        Log.TriggerInvalid(_logger, trigger.EventId, trigger.ActionId, reason);
        return HandlingOutcome.DeadLetter(reason);
    }

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;

    private sealed record StepOutcome(ActionRunStatus Status, JsonObject? Output, string? Reason, string? ErrorType)
    {
        /// <summary>Set when the failure may pass on another attempt: the policy that governs it.</summary>
        public RetryPolicy? Retry { get; init; }

        public TimeSpan? RetryAfter { get; init; }

        public static StepOutcome Skip(string reason) => new(ActionRunStatus.Skipped, null, reason, null);

        public static StepOutcome Fail(string reason, string? errorType) => new(ActionRunStatus.Failed, null, reason, errorType);
    }
}
