using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Engine;

internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Definitions loaded: version {Version}, {TriggerCount} active triggers")]
    public static partial void DefinitionsLoaded(ILogger logger, long version, int triggerCount);

    [LoggerMessage(1004, LogLevel.Information, "Definitions: the heap compacted after the first load ({TriggerCount} triggers) in {PauseMs} ms, before any consumer started")]
    public static partial void DefinitionsCompacted(ILogger logger, int triggerCount, double pauseMs);

    [LoggerMessage(1003, LogLevel.Debug, "Definitions followed from version {FromVersion} to {Version}: {WorkflowCount} workflow(s) reloaded, {TriggerCount} trigger(s)")]
    public static partial void DefinitionsChanged(ILogger logger, long fromVersion, long version, int workflowCount, int triggerCount);

    [LoggerMessage(1002, LogLevel.Warning, "Could not refresh workflow definitions; matching keeps the previous ones")]
    public static partial void DefinitionsRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(1010, LogLevel.Information, "Action templates synchronised: {Created} created, {Updated} updated, {MarkedUnavailable} marked unavailable")]
    public static partial void TemplatesSynced(ILogger logger, int created, int updated, int markedUnavailable);

    [LoggerMessage(1020, LogLevel.Debug, "Event {EventId} ({Kind}, project {ProjectId}) recorded; {MatchCount} steps triggered")]
    public static partial void EventAccepted(ILogger logger, long eventId, string kind, long projectId, int matchCount);

    [LoggerMessage(1021, LogLevel.Debug, "Event {EventId} was already recorded; nothing triggered again")]
    public static partial void EventDuplicate(ILogger logger, long eventId);

    [LoggerMessage(1030, LogLevel.Warning, "Trigger for event {EventId} and action {ActionId} cannot be processed: {Reason}")]
    public static partial void TriggerInvalid(ILogger logger, long eventId, long actionId, string reason);

    [LoggerMessage(1031, LogLevel.Debug, "Run {RunId} of action {ActionId} for event {EventId} already ended; acknowledging the repeat")]
    public static partial void RunAlreadyTerminal(ILogger logger, long runId, long actionId, long eventId);

    [LoggerMessage(1032, LogLevel.Information, "Run {RunId} is held by {WorkerId} until {LeaseUntil:O}; retrying later")]
    public static partial void RunHeldElsewhere(ILogger logger, long runId, string? workerId, DateTime? leaseUntil);

    [LoggerMessage(1033, LogLevel.Information, "Run {RunId} of action {ActionId} ({Kind}) for event {EventId} ended {Status} on attempt {Attempt}")]
    public static partial void RunEnded(ILogger logger, long runId, long actionId, string kind, long eventId, string status, int attempt);

    [LoggerMessage(1034, LogLevel.Warning, "Run {RunId} of action {ActionId} failed: {Reason}")]
    public static partial void RunFailed(ILogger logger, long runId, long actionId, string reason);

    [LoggerMessage(1035, LogLevel.Warning, "Run {RunId} is no longer held by this worker (canceled through the API, or taken over after its lease ran out); its result here is discarded")]
    public static partial void RunLost(ILogger logger, long runId);

    [LoggerMessage(1036, LogLevel.Error, "Runner of run {RunId} threw unexpectedly")]
    public static partial void RunnerThrew(ILogger logger, long runId, Exception exception);

    [LoggerMessage(1080, LogLevel.Information, "Run {RunId} of action {ActionId} waits for a concurrency slot: {Reason}")]
    public static partial void RunWaitsForSlot(ILogger logger, long runId, long actionId, string reason);

    [LoggerMessage(1081, LogLevel.Warning, "Could not give the free concurrency slots of workflow {WorkflowId} to its waiting runs; the sweep will")]
    public static partial void SlotReleaseFailed(ILogger logger, long workflowId, Exception exception);

    [LoggerMessage(1042, LogLevel.Error, "Runner of run {RunId} threw {ExceptionType} unexpectedly: {Message}")]
    public static partial void RunnerThrewRedacted(ILogger logger, long runId, string exceptionType, string message);

    [LoggerMessage(1037, LogLevel.Information, "Run {RunId} of action {ActionId} failed attempt {Attempt} of {MaxAttempts}; retrying at {RetryAt:O}: {Reason}")]
    public static partial void RunRetryScheduled(ILogger logger, long runId, long actionId, int attempt, int maxAttempts, DateTime retryAt, string reason);

    [LoggerMessage(1038, LogLevel.Warning, "Could not record the outcome of run {RunId}; trying again in {DelayMs} ms")]
    public static partial void RecordRetrying(ILogger logger, long runId, long delayMs, Exception exception);

    [LoggerMessage(1039, LogLevel.Warning, "Run {RunId} could not finish in this worker; it is handed to the actions queue once its lease runs out")]
    public static partial void HeldRunLeft(ILogger logger, long runId, Exception exception);

    [LoggerMessage(1041, LogLevel.Debug, "Run {RunId} of action {ActionId} waits until {WaitUntil:O}")]
    public static partial void RunWaiting(ILogger logger, long runId, long actionId, DateTime waitUntil);

    [LoggerMessage(1040, LogLevel.Warning, "Could not renew the leases of {Count} runs")]
    public static partial void LeaseRenewalFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(1043, LogLevel.Warning, "Event {EventId}: a chain started in this worker over HTTP stopped early; its runs are handed to the actions queue once their lease runs out")]
    public static partial void DetachedChainFailed(ILogger logger, long eventId, Exception exception);

    [LoggerMessage(1044, LogLevel.Warning, "The host stops with {Count} chains started over HTTP still running; their runs are handed to the actions queue once their lease runs out")]
    public static partial void DetachedChainsAbandoned(ILogger logger, int count);
}
