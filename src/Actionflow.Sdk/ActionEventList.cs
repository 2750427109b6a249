namespace Actionflow.Sdk;

/// <summary>
/// A list of event kinds offered by an action template, with the one picked by default.
/// Serialized the way Diffgram's templates store it: <c>{default_event_name, event_list: [{name, value}]}</c>.
/// </summary>
public abstract class ActionEventList
{
    /// <summary>Creates the list.</summary>
    /// <param name="defaultEventName">The event picked when the action does not name one; null for none.</param>
    /// <param name="events">Every event kind that may be picked.</param>
    protected ActionEventList(string? defaultEventName, IReadOnlyList<string> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (defaultEventName is not null && !events.Contains(defaultEventName))
        {
            throw new ArgumentException($"The default event '{defaultEventName}' must be one of the listed events.", nameof(defaultEventName));
        }

        DefaultEventName = defaultEventName;
        Events = events;
    }

    /// <summary>The event picked when the action does not name one.</summary>
    public string? DefaultEventName { get; }

    /// <summary>Every event kind that may be picked.</summary>
    public IReadOnlyList<string> Events { get; }
}

/// <summary>The events that can start an action (Diffgram's template <c>trigger_data</c>).</summary>
public sealed class ActionTrigger : ActionEventList
{
    /// <summary>Creates a trigger list; <paramref name="defaultEventName"/> must be one of <paramref name="events"/>.</summary>
    public ActionTrigger(string defaultEventName, params string[] events)
        : base(defaultEventName, events.Length == 0 ? [defaultEventName] : events)
    {
    }
}

/// <summary>The precondition events an action can check before it runs (Diffgram's template <c>condition_data</c>).</summary>
public sealed class ActionCondition : ActionEventList
{
    /// <summary>No precondition.</summary>
    public static ActionCondition None { get; } = new(null);

    /// <summary>Creates a condition list.</summary>
    public ActionCondition(string? defaultEventName, params string[] events)
        : base(defaultEventName, events.Length == 0 && defaultEventName is not null ? [defaultEventName] : events)
    {
    }
}

/// <summary>The events an action reports when it completes (Diffgram's template <c>completion_condition_data</c>).</summary>
public sealed class ActionCompleteCondition : ActionEventList
{
    /// <summary>Completion reported as <c>action_completed</c>, the default of most actions.</summary>
    public static ActionCompleteCondition ActionCompleted { get; } = new(EventKinds.ActionCompleted);

    /// <summary>No completion event offered.</summary>
    public static ActionCompleteCondition None { get; } = new(null);

    /// <summary>Creates a completion list.</summary>
    public ActionCompleteCondition(string? defaultEventName, params string[] events)
        : base(defaultEventName, events.Length == 0 && defaultEventName is not null ? [defaultEventName] : events)
    {
    }
}
