using System.Text.Json.Nodes;

namespace Actionflow.Sdk;

/// <summary>The outcome of a run.</summary>
public sealed class ActionResult
{
    private ActionResult(bool succeeded, JsonObject output, string? reason)
    {
        Succeeded = succeeded;
        Output = output;
        FailureReason = reason;
    }

    /// <summary>True when the action did its work.</summary>
    public bool Succeeded { get; }

    /// <summary>The output: stored on the run, and on success passed as <c>extra_metadata</c> of <c>action_completed</c>.</summary>
    public JsonObject Output { get; }

    /// <summary>Why it failed, for people to read.</summary>
    public string? FailureReason { get; }

    /// <summary>The action did its work.</summary>
    public static ActionResult Success(JsonObject? output = null) => new(true, output ?? [], null);

    /// <summary>The action could not do its work, for a reason people can act on.</summary>
    public static ActionResult Failure(string reason, JsonObject? output = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new(false, output ?? [], reason);
    }
}

/// <summary>Whether an action's preconditions hold.</summary>
public readonly record struct PreconditionResult(bool IsMet, string? Reason)
{
    /// <summary>The action runs.</summary>
    public static PreconditionResult Met { get; } = new(true, null);

    /// <summary>The action is skipped, for this reason.</summary>
    public static PreconditionResult NotMet(string reason) => new(false, reason);
}
