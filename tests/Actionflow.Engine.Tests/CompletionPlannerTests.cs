using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Sdk;
using static Actionflow.Engine.Tests.Fixtures;

namespace Actionflow.Engine.Tests;

public sealed class CompletionPlannerTests
{
    private static readonly MatchedStep NextStep = new(12, 3, "plain");
    private static readonly RetryPolicy ThreeAttempts = new() { MaxAttempts = 3, InitialDelay = TimeSpan.FromSeconds(1), Factor = 2, Jitter = 0.1 };

    private static StepOutcome Success(ActionDescriptor? declared = null, string? reported = null, JsonObject? output = null) =>
        new(ActionRunStatus.Succeeded, output ?? new JsonObject { ["file_id"] = 77 }, null, null) { Declared = declared ?? Plain, CompletionEvent = reported };

    [Fact]
    public void Plan_SuccessWithANextStep_EmitsActionCompletedWithTheOutputAndStartsIt()
    {
        var plan = Plan(Success(), next: NextStep);

        Assert.Equal(ActionRunStatus.Succeeded, plan.Completion.Status);
        Assert.Equal(EventKinds.ActionCompleted, plan.Emitted!.Kind);
        Assert.Equal((11L, 3L, 50L, 77L, EventSources.Engine), (plan.Emitted.ActionId!.Value, plan.Emitted.WorkflowId!.Value, plan.Emitted.WorkflowRunId!.Value, plan.Emitted.FileId!.Value, plan.Emitted.Source));
        Assert.Equal(77, (int)plan.Emitted.ExtraMetadata["file_id"]!);
        Assert.Equal([NextStep], plan.Next);
        Assert.Null(plan.Completion.WorkflowRunStatus);
        Assert.Equal(Verdict.Done, plan.Verdict);
        Assert.Equal((900L, "w1", Now), (plan.Completion.RunId, plan.Completion.WorkerId, plan.Completion.FinishedAt));
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 0)]
    public void Plan_SuccessOfTheLastStepOrWithNothingMatched_SucceedsTheWorkflowRun(bool hasNextStep, int matched)
    {
        var plan = Plan(Success(), Snapshot(hasNextStep: hasNextStep), next: matched == 1 ? [NextStep] : []);

        Assert.Equal(WorkflowRunStatus.Succeeded, plan.Completion.WorkflowRunStatus);
    }

    public static TheoryData<string, string?, string?, string?, string?> CompletionEvents() => new()
    {
        // template, step's completion_condition_data.event_name, result's own, expected emitted, expected refusal
        { "plain", null, null, EventKinds.ActionCompleted, null },
        { "export", null, null, EventKinds.ExportGenerateSuccess, null },
        { "export", "export_generate_partial", null, "export_generate_partial", null },
        { "export", "export_generate_partial", EventKinds.ExportGenerateSuccess, EventKinds.ExportGenerateSuccess, null },
        { "export", null, "export_generate_partial", "export_generate_partial", null },
        { "plain", EventKinds.ExportGenerateSuccess, null, null, "completion_condition_data.event_name 'export_generate_success' is not one the 'plain' template declares (action_completed)" },
        { "export", null, EventKinds.ActionCompleted, null, "the runner reported completion event 'action_completed', which the 'export_like' template does not declare" },
    };

    [Theory]
    [MemberData(nameof(CompletionEvents))]
    public void Plan_Success_EmitsTheDeclaredCompletionEventTheResultOrStepChose(string template, string? stepChoice, string? reported, string? emitted, string? refusal)
    {
        var step = Step(completion: stepChoice is null ? null : new JsonObject { ["event_name"] = stepChoice });

        var plan = Plan(Success(template == "plain" ? Plain : ExportLike, reported), Snapshot(step), next: NextStep);

        if (refusal is null)
        {
            Assert.Equal((ActionRunStatus.Succeeded, emitted), (plan.Completion.Status, plan.Emitted!.Kind));
        }
        else
        {
            Assert.Equal((ActionRunStatus.Failed, "InvalidConfig", EventKinds.ActionFailed), (plan.Completion.Status, plan.Completion.ErrorType, plan.Emitted!.Kind));
            Assert.StartsWith(refusal, plan.Completion.ErrorReason, StringComparison.Ordinal);
            Assert.Equal(WorkflowRunStatus.Failed, plan.Completion.WorkflowRunStatus);
        }
    }

    [Fact]
    public void Plan_RetryableFailureWithAttemptsLeft_SchedulesTheRetryAfterTheBackoffAndEmitsNothing()
    {
        var outcome = StepOutcome.Fail("HTTP 503", ErrorTypes.RetryableFailure) with { Retry = ThreeAttempts };

        var plan = Plan(outcome, run: Run(attempt: 2));

        // 1 s × 2^(2−1), jitter at its middle (0.5) adds nothing.
        Assert.Equal(Now.AddSeconds(2), plan.Completion.NextAttemptAt);
        Assert.Equal(ActionRunStatus.Retrying, plan.Completion.Status);
        Assert.True(plan.RetryScheduled);
        Assert.Null(plan.Emitted);
        Assert.Empty(plan.Next);
        Assert.Null(plan.Completion.WorkflowRunStatus);
        Assert.Equal(Verdict.Done, plan.Verdict);
        Assert.Equal((2, ActionRunStatus.Failed, "HTTP 503", Now.AddSeconds(2)),
            (plan.Completion.Attempt!.Attempt, plan.Completion.Attempt.Status, plan.Completion.Attempt.Error, plan.Completion.Attempt.NextAttemptAt));
    }

    [Fact]
    public void Plan_RetryAfterLongerThanTheBackoff_WaitsForRetryAfter()
    {
        var outcome = StepOutcome.Fail("HTTP 429", ErrorTypes.RetryableFailure) with { Retry = ThreeAttempts, RetryAfter = TimeSpan.FromSeconds(30) };

        Assert.Equal(Now.AddSeconds(30), Plan(outcome).Completion.NextAttemptAt);
    }

    [Fact]
    public void Plan_RetryableFailureOnTheLastAttempt_FailsEmitsActionFailedAndDeadLettersTheTrigger()
    {
        var outcome = StepOutcome.Fail("HTTP 503", ErrorTypes.RetryableFailure) with { Retry = ThreeAttempts };

        var plan = Plan(outcome, run: Run(attempt: 3), next: NextStep);

        Assert.Equal(ActionRunStatus.Failed, plan.Completion.Status);
        Assert.Equal("failed after 3 attempts: HTTP 503", plan.Completion.ErrorReason);
        Assert.Equal((EventKinds.ActionFailed, "HTTP 503"), (plan.Emitted!.Kind, plan.Emitted.ErrorLog));
        Assert.Equal(WorkflowRunStatus.Failed, plan.Completion.WorkflowRunStatus);
        Assert.True(plan.Exhausted);
        Assert.Equal((VerdictKind.DeadLetter, "failed after 3 attempts: HTTP 503", ErrorTypes.RetryableFailure), (plan.Verdict.Kind, plan.Verdict.Reason, plan.Verdict.ExceptionType));
        Assert.Equal(("100", "11", "3"),
            (plan.Verdict.Headers![MessageHeaders.EventId], plan.Verdict.Headers[MessageHeaders.ActionId], plan.Verdict.Headers[MessageHeaders.Attempts]));
    }

    [Fact]
    public void Plan_PlainFailure_FailsAtOnceWithoutDeadLetteringTheTrigger()
    {
        var plan = Plan(StepOutcome.Fail("HTTP 404", ErrorTypes.ActionFailed));

        Assert.Equal((ActionRunStatus.Failed, "HTTP 404", EventKinds.ActionFailed), (plan.Completion.Status, plan.Completion.ErrorReason, plan.Emitted!.Kind));
        Assert.Equal(WorkflowRunStatus.Failed, plan.Completion.WorkflowRunStatus);
        Assert.Equal(Verdict.Done, plan.Verdict);
    }

    [Fact]
    public void Plan_OneAttemptPolicy_IsNotCalledExhausted()
    {
        var plan = Plan(StepOutcome.Fail("boom", "System.Exception") with { Retry = RetryPolicy.None });

        Assert.Equal(("boom", VerdictKind.Done), (plan.Completion.ErrorReason, plan.Verdict.Kind));
    }

    [Theory]
    [InlineData(null, WorkflowRunStatus.Skipped)]
    [InlineData(50L, WorkflowRunStatus.Succeeded)]
    public void Plan_Skip_SkipsARootWorkflowRunButEndsAChainSucceeded(long? triggerWorkflowRunId, WorkflowRunStatus expected)
    {
        var plan = Plan(StepOutcome.Skip("precondition not met: no file"), trigger: Trigger(workflowRunId: triggerWorkflowRunId));

        Assert.Equal((ActionRunStatus.Skipped, expected), (plan.Completion.Status, plan.Completion.WorkflowRunStatus));
        Assert.Null(plan.Emitted);
        Assert.Empty(plan.Next);
    }

    [Fact]
    public void Plan_Matcher_IsAskedAboutTheEmittedEventOnly()
    {
        var asked = new List<Event>();

        var plan = CompletionPlanner.Plan(new CompletionInput(Snapshot(), Trigger(), Run(), Success(), "w1", Now, 0.5), e =>
        {
            asked.Add(e);
            return [];
        });

        Assert.Same(plan.Emitted, Assert.Single(asked));
    }

    [Fact]
    public void Plan_SuccessLater_WaitsUntilThenWithTheOutputEmittingNothingYet()
    {
        var outcome = new StepOutcome(ActionRunStatus.Waiting, new JsonObject { ["delayed_until"] = "later" }, null, null) { WaitUntil = Now.AddMinutes(5), Declared = Plain };

        var plan = Plan(outcome, next: NextStep);

        Assert.True(plan.Waits);
        Assert.False(plan.RetryScheduled);
        Assert.Equal((ActionRunStatus.Waiting, Now.AddMinutes(5), "later"), (plan.Completion.Status, plan.Completion.NextAttemptAt, (string?)plan.Completion.Output!["delayed_until"]));
        Assert.Null(plan.Emitted);
        Assert.Empty(plan.Next);
        Assert.Null(plan.Completion.WorkflowRunStatus);
        Assert.Equal(Verdict.Done, plan.Verdict);
        Assert.Equal((1, ActionRunStatus.Waiting, Now.AddMinutes(5)), (plan.Completion.Attempt!.Attempt, plan.Completion.Attempt.Status, plan.Completion.Attempt.NextAttemptAt));
    }

    [Fact]
    public void Plan_SuccessAtATimeThatHasPassed_SucceedsNowAndStartsTheNextStep()
    {
        var outcome = new StepOutcome(ActionRunStatus.Waiting, new JsonObject { ["file_id"] = 77 }, null, null) { WaitUntil = Now, Declared = Plain };

        var plan = Plan(outcome, next: NextStep);

        Assert.False(plan.Waits);
        Assert.Equal((ActionRunStatus.Succeeded, EventKinds.ActionCompleted), (plan.Completion.Status, plan.Emitted!.Kind));
        Assert.Null(plan.Completion.NextAttemptAt);
        Assert.Equal([NextStep], plan.Next);
    }

    [Fact]
    public void Plan_ResumedAfterItsWait_SucceedsWithTheOutputRecordedWhenItBeganToWait()
    {
        var run = Run();
        run.WaitedUntil = Now;
        run.Output = new JsonObject { ["file_id"] = 78, ["delayed_until"] = "then" };

        var plan = Plan(OutcomeClassifier.Resumed(run, Plain), run: run, next: NextStep);

        Assert.Equal(ActionRunStatus.Succeeded, plan.Completion.Status);
        Assert.Equal((EventKinds.ActionCompleted, 78L, "then"), (plan.Emitted!.Kind, plan.Emitted.FileId!.Value, (string?)plan.Emitted.ExtraMetadata["delayed_until"]));
        Assert.Equal([NextStep], plan.Next);
    }
}
