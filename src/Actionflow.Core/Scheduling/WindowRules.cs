namespace Actionflow.Core.Scheduling;

/// <summary>
/// The open window of one (step, key), as a store keeps it in a row. <see cref="Members"/> are the event ids the run
/// will get (a batch: all in arrival order; a debounce: the last one; a throttle: none). <see cref="CloseAt"/> is
/// when the window closes by time, so a store can index it and wake for it. <see cref="Version"/> grows with every
/// change, for a conditional update (<c>WHERE version = @read</c>): two workers never both close one window.
/// </summary>
public sealed record WindowState(
    string Key,
    DateTimeOffset OpenedAt,
    DateTimeOffset LastEventAt,
    int Count,
    IReadOnlyList<long> Members,
    DateTimeOffset CloseAt,
    long Version);

public enum WindowOutcome
{
    /// <summary>The event opened a window (batch, debounce); no run yet.</summary>
    Opened,

    /// <summary>The event joined the open window; no run yet.</summary>
    Added,

    /// <summary>The window closed: run the step once with its members (<see cref="WindowDecision.Runs"/>).</summary>
    Closed,

    /// <summary>Throttle: the event runs the step, and opens the period during which others are skipped.</summary>
    Passed,

    /// <summary>Throttle: the event is skipped; <see cref="WindowDecision.Skipped"/> says why.</summary>
    Skipped,

    /// <summary>A tick before the window's time: nothing changes.</summary>
    Waiting,

    /// <summary>A throttle period ended with nothing to run: the row can go.</summary>
    Expired,
}

/// <summary>An event not run, and why (a debounce's superseded event, a throttled event).</summary>
public sealed record SkippedEvent(long EventId, string Reason);

/// <summary>
/// The decision: the state to store (null: no open window, delete the row), the runs of the step to start, each
/// with its event ids in arrival order (usually none or one), the events skipped with their reason, and when to look
/// at this window again (null: only on the next event). When an event finds a window already past its close time
/// (its tick not processed yet), the decision closes that window with its members and opens the next one with the
/// event, in one step and one store write.
/// </summary>
public sealed record WindowDecision(WindowOutcome Outcome, WindowState? State, IReadOnlyList<IReadOnlyList<long>> Runs, IReadOnlyList<SkippedEvent> Skipped, DateTimeOffset? WakeAt);

public static class WindowRules
{
    /// <summary>An event of key <paramref name="key"/> arrives at <paramref name="now"/>; <paramref name="state"/> is the key's open window, if any.</summary>
    public static WindowDecision OnEvent(WindowConfig config, WindowState? state, string key, long eventId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(key);
        if (state is not null && state.Key != key)
        {
            throw new ArgumentException($"the window is for key {state.Key}, the event for {key}", nameof(state));
        }

        return config.Mode switch
        {
            WindowMode.Batch => BatchEvent(config, state, key, eventId, now),
            WindowMode.Debounce => DebounceEvent(config, state, key, eventId, now),
            _ => ThrottleEvent(config, state, key, eventId, now),
        };
    }

    /// <summary>The clock reached <paramref name="now"/> (a wake-up at <see cref="WindowState.CloseAt"/>, or a sweep).</summary>
    public static WindowDecision OnTick(WindowConfig config, WindowState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(state);
        if (now < state.CloseAt)
        {
            return new WindowDecision(WindowOutcome.Waiting, state, [], [], state.CloseAt);
        }

        return config.Mode == WindowMode.Throttle
            ? new WindowDecision(WindowOutcome.Expired, null, [], [], null)
            : new WindowDecision(WindowOutcome.Closed, null, [state.Members], [], null);
    }

    private static WindowDecision BatchEvent(WindowConfig config, WindowState? state, string key, long eventId, DateTimeOffset now)
    {
        if (state is not null && now >= state.CloseAt)
        {
            var next = BatchEvent(config, null, key, eventId, now);
            return Merge(state.Members, next, state.Version);
        }

        if (state is null)
        {
            if (config.MaxEvents == 1)
            {
                return new WindowDecision(WindowOutcome.Closed, null, [[eventId]], [], null);
            }

            // A batch with only max_events never closes by time: CloseAt is the far future, and no wake-up is asked.
            var closeAt = config.MaxWait is { } wait ? now + wait : DateTimeOffset.MaxValue;
            var opened = new WindowState(key, now, now, 1, [eventId], closeAt, 1);
            return new WindowDecision(WindowOutcome.Opened, opened, [], [], config.MaxWait is null ? null : closeAt);
        }

        List<long> members = [.. state.Members, eventId];
        if (config.MaxEvents is { } max && members.Count >= max)
        {
            return new WindowDecision(WindowOutcome.Closed, null, [members], [], null);
        }

        var added = state with { LastEventAt = now, Count = state.Count + 1, Members = members, Version = state.Version + 1 };
        return new WindowDecision(WindowOutcome.Added, added, [], [], config.MaxWait is null ? null : added.CloseAt);
    }

    private static WindowDecision DebounceEvent(WindowConfig config, WindowState? state, string key, long eventId, DateTimeOffset now)
    {
        var quiet = config.Quiet!.Value;
        if (state is not null && now >= state.CloseAt)
        {
            var next = DebounceEvent(config, null, key, eventId, now);
            return Merge(state.Members, next, state.Version);
        }

        if (state is null)
        {
            var closeAt = Min(now + quiet, config.MaxWait is { } w ? now + w : DateTimeOffset.MaxValue);
            var opened = new WindowState(key, now, now, 1, [eventId], closeAt, 1);
            return new WindowDecision(WindowOutcome.Opened, opened, [], [], closeAt);
        }

        var capped = config.MaxWait is { } maxWait ? state.OpenedAt + maxWait : DateTimeOffset.MaxValue;
        var added = state with
        {
            LastEventAt = now,
            Count = state.Count + 1,
            Members = [eventId],
            CloseAt = Min(now + quiet, capped),
            Version = state.Version + 1,
        };
        var superseded = state.Members.Select(id => new SkippedEvent(id, $"debounced: superseded by event {eventId} within the quiet period of key {key}")).ToList();
        return new WindowDecision(WindowOutcome.Added, added, [], superseded, added.CloseAt);
    }

    private static WindowDecision ThrottleEvent(WindowConfig config, WindowState? state, string key, long eventId, DateTimeOffset now)
    {
        var period = config.Period!.Value;
        if (state is null || now >= state.CloseAt)
        {
            var opened = new WindowState(key, now, now, 1, [], now + period, (state?.Version ?? 0) + 1);
            return new WindowDecision(WindowOutcome.Passed, opened, [[eventId]], [], opened.CloseAt);
        }

        var reason = $"throttled: key {key} ran at {state.OpenedAt:O}; the next run is allowed from {state.CloseAt:O}";
        var counted = state with { LastEventAt = now, Count = state.Count + 1, Version = state.Version + 1 };
        return new WindowDecision(WindowOutcome.Skipped, counted, [], [new SkippedEvent(eventId, reason)], state.CloseAt);
    }

    /// <summary>An overdue window closes and the event starts the next one: one decision, one store write.</summary>
    private static WindowDecision Merge(IReadOnlyList<long> closedMembers, WindowDecision next, long version)
    {
        var state = next.State is null ? null : next.State with { Version = version + 1 };
        return new WindowDecision(WindowOutcome.Closed, state, [closedMembers, .. next.Runs], next.Skipped, next.WakeAt);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
