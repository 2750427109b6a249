namespace Actionflow.Sdk;

/// <summary>
/// Declares an action's template, in one place: its kind and names, the events that can start it, the preconditions it
/// can check, the events it reports on success, and how failed attempts are retried. The engine reads it without
/// constructing the runner and publishes it as Diffgram's <c>action_template</c>
/// (<c>trigger_data</c>, <c>condition_data</c>, <c>completion_condition_data</c>: <c>{default_event_name, event_list}</c>).
/// </summary>
/// <remarks>Every list's first entry is its default.</remarks>
/// <param name="kind">The unique kind stored on each step of this template, e.g. <c>Webhook</c>.</param>
/// <param name="publicName">The name people see.</param>
/// <param name="description">One sentence on what the action does.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class ActionTemplateAttribute(string kind, string publicName, string description) : Attribute
{
    /// <summary>The unique kind stored on each step of this template.</summary>
    public string Kind { get; } = kind;

    /// <summary>The name people see.</summary>
    public string PublicName { get; } = publicName;

    /// <summary>One sentence on what the action does.</summary>
    public string Description { get; } = description;

    /// <summary>An icon URL or data URI.</summary>
    public string Icon { get; set; } = "";

    /// <summary>A grouping for the step palette, e.g. <c>integration</c>.</summary>
    public string? Category { get; set; }

    /// <summary>The event kinds that can start the action; the first is the default. At least one.</summary>
    public string[] Triggers { get; set; } = [];

    /// <summary>
    /// The preconditions the action can check, by name; the first is checked unless the step names another
    /// (<c>precondition.event_name</c>, or <c>null</c> there for none). The engine passes the name to
    /// <see cref="ActionRunner{TConfig}.CheckPreconditionAsync"/>. Empty: the action has none and is never asked.
    /// </summary>
    public string[] Preconditions { get; set; } = [];

    /// <summary>
    /// The events the action reports on success; the first is emitted unless the step names another
    /// (<c>completion_condition_data.event_name</c>) or the result does (<see cref="ActionResult.Completed"/>).
    /// The step after this one in its workflow, triggered by that event, runs next.
    /// </summary>
    public string[] CompletionEvents { get; set; } = [EventKinds.ActionCompleted];

    /// <summary>Attempts in all, the first included (1 = no retry); a step may override it (<c>retry_policy</c>).</summary>
    public int MaxAttempts { get; set; } = RetryPolicy.Default.MaxAttempts;

    /// <summary>Milliseconds before the second attempt.</summary>
    public int RetryDelayMs { get; set; } = (int)RetryPolicy.Default.InitialDelay.TotalMilliseconds;

    /// <summary>Each further delay is the previous one times this factor.</summary>
    public double RetryBackoffFactor { get; set; } = RetryPolicy.Default.Factor;

    /// <summary>No delay between attempts is longer than this many milliseconds.</summary>
    public int MaxRetryDelayMs { get; set; } = (int)RetryPolicy.Default.MaxDelay.TotalMilliseconds;

    /// <summary>Random spread of each delay, as a fraction (0.1 = ±10 %).</summary>
    public double RetryJitter { get; set; } = RetryPolicy.Default.Jitter;

    /// <summary>The retry policy these settings describe.</summary>
    public RetryPolicy RetryPolicy => new()
    {
        MaxAttempts = MaxAttempts,
        InitialDelay = TimeSpan.FromMilliseconds(RetryDelayMs),
        Factor = RetryBackoffFactor,
        MaxDelay = TimeSpan.FromMilliseconds(MaxRetryDelayMs),
        Jitter = RetryJitter,
    };
}
