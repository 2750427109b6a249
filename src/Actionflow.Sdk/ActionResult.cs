using System.Text.Json.Nodes;

namespace Actionflow.Sdk;

/// <summary>The outcome of a run.</summary>
public sealed class ActionResult
{
    private ActionResult(
        bool succeeded, JsonObject output, string? reason, bool retryable = false, TimeSpan? retryAfter = null, string? completionEvent = null, DateTimeOffset? succeedsAt = null)
    {
        Succeeded = succeeded;
        Output = output;
        FailureReason = reason;
        IsRetryable = retryable;
        RetryAfter = retryAfter;
        CompletionEvent = completionEvent;
        SucceedsAt = succeedsAt;
    }

    /// <summary>True when the action did its work.</summary>
    public bool Succeeded { get; }

    /// <summary>The output: stored on the run, and on success passed as <c>extra_metadata</c> of the completion event.</summary>
    public JsonObject Output { get; }

    /// <summary>Why it failed, for people to read.</summary>
    public string? FailureReason { get; }

    /// <summary>True when trying again may succeed (a timeout, a connection error, HTTP 5xx or 429).</summary>
    public bool IsRetryable { get; }

    /// <summary>The earliest the next attempt should start, when the other side said so (<c>Retry-After</c>).</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>
    /// The completion event this success reports, one of the template's <see cref="ActionTemplateAttribute.CompletionEvents"/>;
    /// null: the step's choice, else the template's default.
    /// </summary>
    public string? CompletionEvent { get; }

    /// <summary>
    /// When the success takes effect, for a result of <see cref="SuccessAt"/>; null: now.
    /// </summary>
    public DateTimeOffset? SucceedsAt { get; }

    /// <summary>The action did its work; the step's completion event is emitted.</summary>
    public static ActionResult Success(JsonObject? output = null) => new(true, output ?? [], null);

    /// <summary>
    /// The action did its work and reports <paramref name="completionEvent"/>, one of the template's
    /// <see cref="ActionTemplateAttribute.CompletionEvents"/> (a run reporting another one fails).
    /// </summary>
    public static ActionResult Completed(string completionEvent, JsonObject? output = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(completionEvent);
        return new(true, output ?? [], null, completionEvent: completionEvent);
    }

    /// <summary>
    /// The action did its work, and the step completes at <paramref name="at"/>: until then the run is <c>waiting</c>,
    /// holding no thread or timer (a row in the database with its due time, which survives restarts); then it succeeds
    /// with <paramref name="output"/> and emits the step's completion event, without running the action again. A
    /// workflow run canceled meanwhile ends the wait. A time that has passed completes at once. The built-in
    /// <c>delay</c> action is one line of this.
    /// </summary>
    public static ActionResult SuccessAt(DateTimeOffset at, JsonObject? output = null) => new(true, output ?? [], null, succeedsAt: at);

    /// <summary>The action could not do its work and trying again will not help (a 4xx, bad config, a refusal).</summary>
    public static ActionResult Failure(string reason, JsonObject? output = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new(false, output ?? [], reason);
    }

    /// <summary>
    /// The attempt failed in a way that may pass later (a timeout, a connection error, HTTP 5xx or 429): the engine
    /// tries again per the action's <see cref="RetryPolicy"/>, not before <paramref name="retryAfter"/>.
    /// </summary>
    public static ActionResult RetryableFailure(string reason, TimeSpan? retryAfter = null, JsonObject? output = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new(false, output ?? [], reason, retryable: true, retryAfter);
    }
}

/// <summary>Whether an action's precondition holds.</summary>
public readonly record struct PreconditionResult(bool IsMet, string? Reason)
{
    /// <summary>The action runs.</summary>
    public static PreconditionResult Met { get; } = new(true, null);

    /// <summary>The action is skipped, for this reason.</summary>
    public static PreconditionResult NotMet(string reason) => new(false, reason);
}
