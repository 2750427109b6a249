using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Sdk;
using static Actionflow.Engine.Tests.Fixtures;

namespace Actionflow.Engine.Tests;

public sealed class StepDeclarationsTests
{
    public static TheoryData<string, string, string?, string?> Preconditions() => new()
    {
        // step's precondition document, template, expected precondition, expected refusal (start)
        { "{}", "gated", "all_tasks_completed", null },
        { """{"event_name": "has_file"}""", "gated", "has_file", null },
        { """{"event_name": null}""", "gated", null, null },
        { """{"default_event_name": "has_file", "event_list": []}""", "gated", "all_tasks_completed", null },
        { """{"event_name": "all_labels_done"}""", "gated", null, "precondition 'all_labels_done' is not one the 'gated' template declares (all_tasks_completed, has_file)" },
        { "{}", "plain", null, null },
        { """{"event_name": "has_file"}""", "plain", null, "precondition 'has_file' is not checked by the 'plain' template, which declares none" },
        { """{"event_name": 5}""", "gated", null, "precondition.event_name must be a string or null" },
    };

    [Theory]
    [MemberData(nameof(Preconditions))]
    public void PreconditionOf_StepChoiceAndTemplate_ChecksOnlyWhatTheTemplateDeclares(string stepPrecondition, string template, string? expected, string? refusal)
    {
        var chosen = StepDeclarations.PreconditionOf(JsonNode.Parse(stepPrecondition)!.AsObject(), template == "gated" ? Gated : Plain, out var why);

        Assert.Equal((expected, refusal), (chosen, why));
    }

    [Fact]
    public void CompletionEventOf_NoTemplate_IsActionCompleted()
    {
        Assert.Equal(EventKinds.ActionCompleted, StepDeclarations.CompletionEventOf([], null, null, out var refusal));
        Assert.Null(refusal);
    }
}

public sealed class OutcomeClassifierTests
{
    private static readonly RetryPolicy Policy = new() { MaxAttempts = 4 };

    [Fact]
    public void FromResult_Success_KeepsOutputAndReportedCompletionEvent()
    {
        var outcome = OutcomeClassifier.FromResult(ActionResult.Completed(EventKinds.ExportGenerateSuccess, new JsonObject { ["n"] = 1 }), Policy, ExportLike);

        Assert.Equal((ActionRunStatus.Succeeded, EventKinds.ExportGenerateSuccess, (RetryPolicy?)null), (outcome.Status, outcome.CompletionEvent, outcome.Retry));
        Assert.Equal(1, (int)outcome.Output!["n"]!);
        Assert.Same(ExportLike, outcome.Declared);
    }

    [Fact]
    public void FromResult_SuccessAt_IsAWaitUntilThatInstantInUtc()
    {
        var at = new DateTimeOffset(2026, 10, 25, 2, 30, 0, TimeSpan.FromHours(2));

        var outcome = OutcomeClassifier.FromResult(ActionResult.SuccessAt(at, new JsonObject { ["n"] = 2 }), Policy, Plain);

        Assert.Equal((ActionRunStatus.Waiting, at.UtcDateTime, DateTimeKind.Utc), (outcome.Status, outcome.WaitUntil!.Value, outcome.WaitUntil.Value.Kind));
        Assert.Equal(2, (int)outcome.Output!["n"]!);
        Assert.Null(outcome.Retry);
    }

    [Fact]
    public void FromResult_PlainFailure_IsFinal()
    {
        var outcome = OutcomeClassifier.FromResult(ActionResult.Failure("HTTP 404"), Policy, Plain);

        Assert.Equal((ActionRunStatus.Failed, "HTTP 404", ErrorTypes.ActionFailed, (RetryPolicy?)null), (outcome.Status, outcome.Reason, outcome.ErrorType, outcome.Retry));
    }

    [Fact]
    public void FromResult_RetryableFailure_IsRetriedUnderThePolicyNotBeforeRetryAfter()
    {
        var outcome = OutcomeClassifier.FromResult(ActionResult.RetryableFailure("HTTP 429", TimeSpan.FromSeconds(9)), Policy, Plain);

        Assert.Equal((ActionRunStatus.Failed, ErrorTypes.RetryableFailure, TimeSpan.FromSeconds(9)), (outcome.Status, outcome.ErrorType, outcome.RetryAfter!.Value));
        Assert.Same(Policy, outcome.Retry);
    }

    [Fact]
    public void FromException_AnyException_IsRetriedUnderThePolicyWithItsTypeAsErrorType()
    {
        var outcome = OutcomeClassifier.FromException(new TimeoutException("db away"), Policy, Plain);

        Assert.Equal((ActionRunStatus.Failed, "TimeoutException: db away", typeof(TimeoutException).FullName), (outcome.Status, outcome.Reason, outcome.ErrorType));
        Assert.Same(Policy, outcome.Retry);
    }

    [Fact]
    public void FromPrecondition_NotMet_SkipsWithTheReason()
    {
        var outcome = OutcomeClassifier.FromPrecondition(PreconditionResult.NotMet("the event names no file"));

        Assert.Equal((ActionRunStatus.Skipped, "precondition not met: the event names no file"), (outcome.Status, outcome.Reason));
    }
}

public sealed class MatchingTests
{
    private static Event Completion(string kind, long? actionId, string source = EventSources.Engine) =>
        new() { ExtraMetadata = [], Payload = [], Kind = kind, ProjectId = 7, ActionId = actionId, WorkflowId = 3, WorkflowRunId = 50, Source = source };

    public static TheoryData<string, long?, string, long?, JsonObject, bool> Cases() => new()
    {
        // event kind, its action, its source, the step's previous step, the step's trigger_data, runs?
        { EventKinds.ActionCompleted, 10, EventSources.Engine, 10, new JsonObject(), true },
        { EventKinds.ActionCompleted, 9, EventSources.Engine, 10, new JsonObject(), false },
        { EventKinds.ActionCompleted, 10, EventSources.Engine, null, new JsonObject(), false },
        { EventKinds.ActionCompleted, 10, EventSources.Api, 10, new JsonObject(), true },
        // A template's own completion event chains like action_completed...
        { EventKinds.ExportGenerateSuccess, 10, EventSources.Engine, 10, new JsonObject(), true },
        { EventKinds.ExportGenerateSuccess, 9, EventSources.Engine, 10, new JsonObject(), false },
        // ...but the same kind sent from outside is an ordinary event (directory filter only).
        { EventKinds.ExportGenerateSuccess, 9, EventSources.Api, 10, new JsonObject(), true },
        { EventKinds.InputFileUploaded, null, EventSources.Amqp, null, new JsonObject { ["directory_id"] = 5 }, false },
        { EventKinds.InputFileUploaded, null, EventSources.Amqp, null, new JsonObject { ["upload_directory_id_list"] = new JsonArray(4, 9) }, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Check_EventAgainstAStep_RunsOnlyTheStepItIsFor(string kind, long? actionId, string source, long? previous, JsonObject triggerData, bool runs)
    {
        var ev = Completion(kind, actionId, source);
        ev.DirectoryId = 9;

        Assert.Equal(runs, TriggerFilter.Check(11, 3, previous, triggerData, ev) is null);
    }

    [Fact]
    public void MatchSteps_CompletionEventOfAStep_StartsTheNextStepTriggeredByItAndNothingElse()
    {
        var index = new TriggerIndex();
        index.Load(1,
        [
            new Core.Abstractions.TriggerDefinition(12, 7, 3, "after", 1, EventKinds.ExportGenerateSuccess, new JsonObject { ["event_name"] = EventKinds.ExportGenerateSuccess }, [], 11),
            new Core.Abstractions.TriggerDefinition(22, 7, 4, "after", 1, EventKinds.ExportGenerateSuccess, new JsonObject { ["event_name"] = EventKinds.ExportGenerateSuccess }, [], 21),
            new Core.Abstractions.TriggerDefinition(13, 7, 3, "plain", 1, EventKinds.ActionCompleted, new JsonObject { ["event_name"] = EventKinds.ActionCompleted }, [], 11),
        ]);

        var matched = index.MatchSteps(Completion(EventKinds.ExportGenerateSuccess, 11));

        Assert.Equal([12L], matched.Select(m => m.ActionId));
    }

    public static TheoryData<bool, bool, bool, bool, string, string?> Gate() => new()
    {
        // step active, step archived, workflow active, workflow archived, step's trigger now, skip reason (start)
        { true, false, true, false, EventKinds.InputFileUploaded, null },
        { false, false, true, false, EventKinds.InputFileUploaded, "the step is archived or inactive" },
        { true, true, true, false, EventKinds.InputFileUploaded, "the step is archived or inactive" },
        { true, false, false, false, EventKinds.InputFileUploaded, "the workflow is inactive or archived" },
        { true, false, true, true, EventKinds.InputFileUploaded, "the workflow is inactive or archived" },
        { true, false, true, false, EventKinds.TaskCompleted, "the step now triggers on 'task_completed', not 'input_file_uploaded'" },
    };

    [Theory]
    [MemberData(nameof(Gate))]
    public void SkipReason_DefinitionsChangedSinceTheMatch_SkipsSayingWhy(bool active, bool archived, bool workflowActive, bool workflowArchived, string trigger, string? reason)
    {
        var step = Step(triggeredBy: trigger);
        step.Active = active;
        step.Archived = archived;

        Assert.Equal(reason, StepGate.SkipReason(new ActionSnapshot(step, workflowActive, workflowArchived, null, false), Trigger()));
    }
}
