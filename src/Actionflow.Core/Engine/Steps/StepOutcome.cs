using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Sdk;

namespace Actionflow.Core.Engine;

/// <summary>How one attempt of a step ended, before the <see cref="CompletionPlanner"/> decides what follows.</summary>
/// <param name="Status">Succeeded, failed or skipped; or waiting, for a success that takes effect at <see cref="WaitUntil"/>.</param>
public sealed record StepOutcome(ActionRunStatus Status, JsonObject? Output, string? Reason, string? ErrorType)
{
    /// <summary>Set when the failure may pass on another attempt: the policy that governs it.</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>The earliest the next attempt may start, when the other side said so.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The completion event the runner's result named (<see cref="ActionResult.Completed"/>), if any.</summary>
    public string? CompletionEvent { get; init; }

    /// <summary>With <see cref="ActionRunStatus.Waiting"/>: when the success takes effect (<see cref="ActionResult.SuccessAt"/>).</summary>
    public DateTime? WaitUntil { get; init; }

    /// <summary>The template of the runner that ran, when one did.</summary>
    public ActionDescriptor? Declared { get; init; }

    public static StepOutcome Skip(string reason) => new(ActionRunStatus.Skipped, null, reason, null);

    public static StepOutcome Fail(string reason, string? errorType) => new(ActionRunStatus.Failed, null, reason, errorType);

    public static StepOutcome InvalidConfig(string reason) => Fail(reason, ErrorTypes.InvalidConfig);
}

/// <summary>The <c>error_type</c> the engine writes for failures that are not a runner's exception.</summary>
public static class ErrorTypes
{
    public const string InvalidConfig = "InvalidConfig";
    public const string UnknownActionKind = "UnknownActionKind";
    public const string UnknownAction = "UnknownAction";
    public const string ActionFailed = "ActionFailed";
    public const string RetryableFailure = "RetryableFailure";
}

/// <summary>Classifies what a runner did into a <see cref="StepOutcome"/>: which failures are retried, under which policy.</summary>
public static class OutcomeClassifier
{
    /// <summary>A plain failure is final; a retryable one is retried per <paramref name="policy"/>.</summary>
    public static StepOutcome FromResult(ActionResult result, RetryPolicy policy, ActionDescriptor declared)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result is { Succeeded: true, SucceedsAt: { } at })
        {
            return new StepOutcome(ActionRunStatus.Waiting, result.Output, null, null) { WaitUntil = at.UtcDateTime, Declared = declared };
        }

        if (result.Succeeded)
        {
            return new StepOutcome(ActionRunStatus.Succeeded, result.Output, null, null) { CompletionEvent = result.CompletionEvent, Declared = declared };
        }

        return new StepOutcome(ActionRunStatus.Failed, result.Output, result.FailureReason, result.IsRetryable ? ErrorTypes.RetryableFailure : ErrorTypes.ActionFailed)
        {
            Retry = result.IsRetryable ? policy : null,
            RetryAfter = result.RetryAfter,
            Declared = declared,
        };
    }

    /// <summary>An exception is unexpected, maybe transient (a dependency down): retried per <paramref name="policy"/>.</summary>
    public static StepOutcome FromException(Exception exception, RetryPolicy policy, ActionDescriptor declared)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return StepOutcome.Fail($"{exception.GetType().Name}: {exception.Message}", exception.GetType().FullName) with { Retry = policy, Declared = declared };
    }

    /// <summary>A run claimed after its wait: it succeeds with the output recorded when it began to wait; its runner does not run again.</summary>
    public static StepOutcome Resumed(ActionRun run, ActionDescriptor declared)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new StepOutcome(ActionRunStatus.Succeeded, run.Output, null, null) { Declared = declared };
    }

    public static StepOutcome FromPrecondition(PreconditionResult precondition) =>
        StepOutcome.Skip("precondition not met: " + (precondition.Reason ?? "the runner declined"));
}
