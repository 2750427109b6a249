using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Sdk;

namespace Actionflow.Engine.Tests;

internal static class Fixtures
{
    public static readonly DateTime Now = new(2026, 11, 27, 12, 0, 0, DateTimeKind.Utc);

    public static ActionDescriptor Plain { get; } = ActionDescriptor.Of(typeof(PlainAction));

    public static ActionDescriptor ExportLike { get; } = ActionDescriptor.Of(typeof(ExportLikeAction));

    public static ActionDescriptor Gated { get; } = ActionDescriptor.Of(typeof(GatedAction));

    public static WorkflowAction Step(long id = 11, int ordinal = 0, string triggeredBy = EventKinds.InputFileUploaded, JsonObject? completion = null) => new()
    {
        Id = id,
        ProjectId = 7,
        WorkflowId = 3,
        Kind = "plain",
        Ordinal = ordinal,
        Active = true,
        TriggerData = new JsonObject { ["event_name"] = triggeredBy },
        CompletionConditionData = completion ?? [],
    };

    public static ActionSnapshot Snapshot(WorkflowAction? step = null, bool hasNextStep = true, long? previous = null) =>
        new(step ?? Step(), true, false, previous, hasNextStep);

    public static Event Trigger(string kind = EventKinds.InputFileUploaded, long? workflowRunId = null) => new()
    {
        Id = 100, ProjectId = 7, Kind = kind, FileId = 5, DirectoryId = 9, WorkflowRunId = workflowRunId, TimeCreated = Now,
        ExtraMetadata = [],
        Payload = [],
    };

    public static ActionRun Run(int attempt = 1, long workflowRunId = 50) => new()
    {
        Id = 900, ProjectId = 7, WorkflowId = 3, ActionId = 11, WorkflowRunId = workflowRunId, EventId = 100, Kind = "plain",
        Status = ActionRunStatus.Running, Attempt = attempt, WorkerId = "w1", StartedAt = Now.AddSeconds(-1),
    };

    public static CompletionPlan Plan(StepOutcome outcome, ActionSnapshot? step = null, Event? trigger = null, ActionRun? run = null, params MatchedStep[] next) =>
        CompletionPlanner.Plan(new CompletionInput(step ?? Snapshot(), trigger ?? Trigger(), run ?? Run(), outcome, "w1", Now, 0.5), _ => next);

    public sealed class NoConfig;

    [ActionTemplate("plain", "Plain", "Emits action_completed.", Triggers = [EventKinds.InputFileUploaded, EventKinds.ActionCompleted])]
    public sealed class PlainAction : ActionRunner<NoConfig>
    {
        public override ValueTask<ActionResult> ExecuteAsync(ActionContext<NoConfig> context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ActionResult.Success());
    }

    [ActionTemplate("export_like", "Export", "Reports export_generate_success or a second event.",
        Triggers = [EventKinds.InputFileUploaded], CompletionEvents = [EventKinds.ExportGenerateSuccess, "export_generate_partial"])]
    public sealed class ExportLikeAction : ActionRunner<NoConfig>
    {
        public override ValueTask<ActionResult> ExecuteAsync(ActionContext<NoConfig> context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ActionResult.Success());
    }

    [ActionTemplate("gated", "Gated", "Checks all_tasks_completed or has_file.", Triggers = [EventKinds.InputFileUploaded],
        Preconditions = ["all_tasks_completed", "has_file"])]
    public sealed class GatedAction : ActionRunner<NoConfig>
    {
        public override ValueTask<ActionResult> ExecuteAsync(ActionContext<NoConfig> context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ActionResult.Success());
    }
}
