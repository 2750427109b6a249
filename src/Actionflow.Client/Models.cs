using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Actionflow.Client;

/// <summary>An Actionflow project.</summary>
public sealed record Project(long Id, string StringId, string Name);

/// <summary>What the credentials in use are: the installation admin token (or setup token), or a project's API key.</summary>
public sealed record WhoAmI(bool InstallationAdmin, bool SetupToken, Project? Project, string? Role, string? ClientId)
{
    /// <summary>Whether these credentials may change workflows, steps and runs and emit events in their project.</summary>
    public bool CanEdit => InstallationAdmin || Role is "editor" or "admin";

    /// <summary>Whether these credentials may manage the project's API keys.</summary>
    public bool CanManageKeys => InstallationAdmin || Role is "admin";
}

/// <summary>A workflow as lists show it.</summary>
public sealed record WorkflowSummary(
    long Id, string StringId, string Name, bool Active, bool Archived, DateTime TimeCreated, DateTime TimeUpdated, int StepCount,
    string? LastRunStatus, DateTime? LastRunAt, [property: JsonPropertyName("runs_last_24h")] int RunsLast24h);

/// <summary>A workflow with its steps (<c>actions_list</c>) and its schedules (steps triggered by <c>time_trigger</c>, while active).</summary>
public sealed record Workflow(
    long Id, string StringId, string Name, bool Active, bool Archived, DateTime TimeCreated, DateTime TimeUpdated, IReadOnlyList<WorkflowStep>? ActionsList,
    DateTime? NextFireAt = null, LastFire? LastFire = null, string? CatchUp = null, IReadOnlyList<StepSchedule>? Schedules = null,
    StepGraph? Graph = null);

/// <summary>The workflow's steps as the engine links them: which step runs after which.</summary>
public sealed record StepGraph(IReadOnlyList<StepEdge> Edges);

/// <summary>
/// <paramref name="To"/> runs after <paramref name="From"/>: declared (<c>depends_on</c>) or the next step by ordinal
/// (<c>sequence</c>); taken only when <paramref name="Condition"/> holds, or, for an else branch, when no sibling's did.
/// </summary>
public sealed record StepEdge(long From, long To, string Kind, string? Condition, bool Else);

/// <summary>A scheduled step: its expression, zone, catch-up policy, next and last fire.</summary>
public sealed record StepSchedule(long ActionId, string CronExpression, string TimeZone, string CatchUp, int? CatchUpMax, DateTime? NextFireAt, LastFire? LastFire, long DroppedTicks);

/// <summary>A schedule's last fire: the tick, when it fired, its event.</summary>
public sealed record LastFire(DateTime ScheduledAt, DateTime FiredAt, long? EventId);

/// <summary>The next fire times of a trigger, in UTC and in its time zone (with the offset).</summary>
public sealed record SchedulePreview(string CronExpression, string TimeZone, IReadOnlyList<DateTime> NextFireTimes, IReadOnlyList<string> NextFireTimesLocal);

/// <summary>A step of a workflow (Diffgram's "action"). Secret config fields read <c>********</c> when set.</summary>
public sealed record WorkflowStep(
    long Id, long WorkflowId, long? TemplateId, string Kind, string PublicName, string Description, string Icon, int Ordinal,
    JsonObject TriggerData, JsonObject Precondition, JsonObject CompletionConditionData, JsonObject ConfigData, JsonObject? Output,
    bool Active, bool Archived, DateTime TimeCreated, DateTime TimeUpdated,
    IReadOnlyList<long>? DependsOn = null, string? Condition = null, bool ElseBranch = false, string Join = "all", string OnPredecessorFailure = "skip",
    StepConcurrency? Concurrency = null)
{
    /// <summary>The event that starts this step (<c>trigger_data.event_name</c>).</summary>
    public string? TriggerEvent => (string?)TriggerData["event_name"];
}

/// <summary>An action template: what a step can be, with its events and the JSON Schema of its config.</summary>
public sealed record ActionTemplate(
    long Id, string Kind, string PublicName, string Description, string Icon, string? Category, JsonObject TriggerData, JsonObject ConditionData,
    JsonObject CompletionConditionData, JsonObject ConfigSchema, bool IsAvailable)
{
    /// <summary>Events this template's steps can be triggered by.</summary>
    public IReadOnlyList<string> TriggerEvents => Events(TriggerData);

    /// <summary>Precondition events offered by the template.</summary>
    public IReadOnlyList<string> PreconditionEvents => Events(ConditionData);

    /// <summary>Completion events offered by the template.</summary>
    public IReadOnlyList<string> CompletionEvents => Events(CompletionConditionData);

    private static List<string> Events(JsonObject data)
    {
        var list = new List<string>();
        if (data["event_list"] is JsonArray items)
        {
            foreach (var item in items)
            {
                if ((item as JsonObject)?["name"] is JsonValue name)
                {
                    list.Add((string)name!);
                }
                else if (item is JsonValue value && value.TryGetValue<string>(out var s))
                {
                    list.Add(s);
                }
            }
        }

        if ((string?)data["default_event_name"] is { } fallback && !list.Contains(fallback))
        {
            list.Insert(0, fallback);
        }

        return list;
    }
}

/// <summary>One workflow run: the steps one root event started in one workflow.</summary>
public sealed record WorkflowRun(
    long Id, long WorkflowId, string Status, string? StatusDescription, long RootEventId, DateTime TimeCreated, DateTime TimeUpdated,
    IReadOnlyList<StepRun> ActionRuns);

/// <summary>One step's run: status, attempts, output, error.</summary>
public sealed record StepRun(
    long Id, string Kind, string Status, JsonObject? Output, long WorkflowId, long ActionId, DateTime TimeCreated, int Attempt, string? ErrorReason,
    DateTime? StartedAt, DateTime? FinishedAt, long EventId, long WorkflowRunId, DateTime? NextAttemptAt, IReadOnlyList<StepAttempt>? Attempts,
    DateTime? WaitedUntil = null, int? WorkflowAttempt = null);

/// <summary>How one attempt of a step run ended.</summary>
public sealed record StepAttempt(int Attempt, string Status, DateTime? StartedAt, DateTime FinishedAt, string? Error, string? ErrorType, DateTime? NextAttemptAt);

/// <summary>A page of a run search.</summary>
public sealed record WorkflowRunPage(IReadOnlyList<WorkflowRun> WorkflowRunList, int TotalCount, int Page, int PageSize);

/// <summary>Runs started in one interval, by status.</summary>
public sealed record RunCountBucket(DateTime Start, IReadOnlyDictionary<string, int> Counts);

/// <summary>Runs over time.</summary>
public sealed record RunCounts(DateTime From, DateTime To, string Bucket, IReadOnlyList<RunCountBucket> Buckets);

/// <summary>What to search runs by; every field is optional.</summary>
public sealed record RunQuery(long? WorkflowId = null, string? Status = null, long? EventId = null, long? FileId = null, DateTimeOffset? From = null,
    DateTimeOffset? To = null, int Page = 0, int PageSize = 50);

/// <summary>A recorded event.</summary>
public sealed record Event(
    long Id, string Kind, long ProjectId, long? WorkflowId, long? ActionId, long? FileId, long? TaskId, long? JobId, long? DirectoryId, long? InputId,
    long? MemberId, string? Description, string? ErrorLog, JsonObject? ExtraMetadata, string Source, string? IdempotencyKey, long? WorkflowRunId,
    DateTime TimeCreated);

/// <summary>An event to emit.</summary>
public sealed record NewEvent(
    string Kind, long? FileId = null, long? TaskId = null, long? JobId = null, long? DirectoryId = null, long? InputId = null, long? MemberId = null,
    string? Description = null, JsonObject? ExtraMetadata = null, string? IdempotencyKey = null);

/// <summary>An event as the API accepted it.</summary>
public sealed record EventAccepted(Event Event, int TriggeredSteps, bool Duplicate);

/// <summary>A message that could not be processed, with why.</summary>
public sealed record DeadLetter(long Id, long? ProjectId, string Queue, string Reason, string? ExceptionType, int Deliveries, JsonNode? Headers, JsonNode? Body, DateTime TimeCreated);

/// <summary>The answer to a replay.</summary>
public sealed record DeadLetterReplayed(long Replayed, string Queue, long? ReopenedActionRunId);

/// <summary>An API key (never its secret).</summary>
public sealed record ApiKey(string ClientId, string Role, DateTime TimeCreated);

/// <summary>A new API key: its secret is shown this once.</summary>
public sealed record ApiKeyCreated(string ClientId, string ClientSecret, string Role);

/// <summary>A project secret as the API shows it: name and metadata, never the value.</summary>
public sealed record SecretInfo(string Name, string? Description, string KeyId, DateTime TimeCreated, DateTime TimeUpdated);

/// <summary>Changes to a step; null fields keep their values.</summary>
public sealed record StepChanges(
    string? PublicName = null, int? Ordinal = null, JsonObject? TriggerData = null, JsonObject? Precondition = null, JsonObject? CompletionConditionData = null,
    JsonObject? ConfigData = null, bool? Archived = null,
    IReadOnlyList<long>? DependsOn = null, string? Condition = null, bool? ElseBranch = null, string? Join = null, string? OnPredecessorFailure = null,
    StepConcurrency? Concurrency = null);

/// <summary>
/// A step's concurrency limit: at most <paramref name="Limit"/> runs per value of <paramref name="Key"/> (CEL over
/// <c>event</c> and <c>previous</c>; null: one group for the step) at once. Sent with a null limit, it removes the limit.
/// </summary>
public sealed record StepConcurrency(string? Key, int? Limit);

/// <summary>What a rerun started: the workflow run (running again), the step's new run and the attempt it is.</summary>
public sealed record RerunStarted(WorkflowRun WorkflowRun, long ActionRunId, int Attempt);

internal sealed record WorkflowEnvelope(Workflow Workflow);
internal sealed record WorkflowListEnvelope(IReadOnlyList<WorkflowSummary> WorkflowList);
internal sealed record ProjectEnvelope(Project Project);
internal sealed record ProjectListEnvelope(IReadOnlyList<Project> ProjectList);
internal sealed record StepEnvelope(WorkflowStep Action);
internal sealed record TemplateListEnvelope(IReadOnlyList<ActionTemplate> ActionTemplateList);
internal sealed record RunEnvelope(WorkflowRun WorkflowRun);
internal sealed record EventEnvelope(Event Event);
internal sealed record EventListEnvelope(IReadOnlyList<Event> EventList);
internal sealed record DeadLetterListEnvelope(IReadOnlyList<DeadLetter> DeadLetterList);
internal sealed record ApiKeyListEnvelope(IReadOnlyList<ApiKey> ApiKeyList);
internal sealed record SecretEnvelope(SecretInfo Secret);
internal sealed record SecretListEnvelope(IReadOnlyList<SecretInfo> SecretList);
