using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Json;

namespace Actionflow.Core.Scheduling;

/// <summary>One run a window starts: its members (event ids, arrival order), when and why it closed.</summary>
/// <param name="Reason"><c>max_events</c>, <c>max_wait</c>, <c>quiet</c> or <c>throttle</c>.</param>
public sealed record WindowRun(IReadOnlyList<long> Members, DateTimeOffset OpenedAt, DateTimeOffset ClosedAt, string Reason);

/// <summary>What folding a key's new events (and the clock) into its window decided: the state to keep, the runs, the events skipped.</summary>
public sealed record WindowFoldResult(WindowState? State, IReadOnlyList<WindowRun> Runs, IReadOnlyList<SkippedEvent> Skipped);

/// <summary>
/// Applies <see cref="WindowRules"/> to one key: each new event in arrival order, at the time it was accepted, then
/// the clock; and builds the event a window's run is for. No I/O: a store holds the key's lock around it.
/// </summary>
public static class WindowFold
{
    /// <summary>The run's event carries the payloads of at most this many members (all their ids, always).</summary>
    public const int MaxPayloads = 100;

    public static WindowFoldResult Fold(WindowConfig config, WindowState? state, string key, IReadOnlyList<(long EventId, DateTimeOffset At)> arrivals, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(arrivals);
        var runs = new List<WindowRun>();
        var skipped = new List<SkippedEvent>();
        foreach (var (eventId, at) in arrivals)
        {
            var before = state;
            var decision = WindowRules.OnEvent(config, state, key, eventId, at);
            for (var i = 0; i < decision.Runs.Count; i++)
            {
                // With an open window past its close time, the first run is that window closing by time.
                var timed = i == 0 && before is not null && at >= before.CloseAt;
                var reason = config.Mode switch
                {
                    WindowMode.Throttle => "throttle",
                    WindowMode.Debounce => TimedReason(config, before!),
                    _ when timed => "max_wait",
                    _ => "max_events",
                };
                var opened = i == 0 && before is not null && decision.Outcome == WindowOutcome.Closed ? before.OpenedAt : at;
                runs.Add(new WindowRun(decision.Runs[i], opened, at, reason));
            }

            skipped.AddRange(decision.Skipped);
            state = decision.State;
        }

        if (state is not null && now >= state.CloseAt)
        {
            var tick = WindowRules.OnTick(config, state, now);
            foreach (var members in tick.Runs)
            {
                runs.Add(new WindowRun(members, state.OpenedAt, now, config.Mode == WindowMode.Debounce ? TimedReason(config, state) : "max_wait"));
            }

            state = tick.State;
        }

        return new WindowFoldResult(state, runs, skipped);
    }

    /// <summary>A debounce closes after its quiet time, or at <c>max_wait</c> after it opened, whichever came first.</summary>
    private static string TimedReason(WindowConfig config, WindowState state) =>
        config.MaxWait is { } wait && state.CloseAt >= state.OpenedAt + wait ? "max_wait" : "quiet";

    /// <summary>
    /// The event a window's run is for: a copy of its last member (kind, ids, <c>extra_metadata</c>), so the step's
    /// filters and runner see what they would see for that event, with <c>extra_metadata.window</c> added: the mode,
    /// key, why and when it closed, every member's id and the first <see cref="MaxPayloads"/> members as Diffgram
    /// shapes events. Unique per window run (its dedup key names the step and first member).
    /// </summary>
    /// <param name="members">The member events, in the run's order (those no longer found are left out).</param>
    public static Event RunEvent(WindowConfig config, long actionId, string key, WindowRun run, IReadOnlyList<Event> members, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
        {
            throw new ArgumentException("a window run needs at least one member event", nameof(members));
        }

        var last = members[^1];
        var payloads = new JsonArray();
        foreach (var member in members.Take(MaxPayloads))
        {
            payloads.Add(DiffgramEventCodec.ToDiffgramJson(member));
        }

        var extra = (JsonObject)last.ExtraMetadata.DeepClone();
        extra["window"] = new JsonObject
        {
            ["mode"] = config.Mode.ToString().ToLowerInvariant(),
            ["key"] = config.Key,
            ["value"] = JsonNode.Parse(key),
            ["count"] = run.Members.Count,
            ["reason"] = run.Reason,
            ["opened_at"] = Iso(run.OpenedAt),
            ["closed_at"] = Iso(run.ClosedAt),
            ["event_ids"] = new JsonArray([.. run.Members.Select(id => (JsonNode)id)]),
            ["events"] = payloads,
            ["events_truncated"] = run.Members.Count > MaxPayloads,
        };
        return new Event
        {
            Kind = last.Kind,
            ProjectId = last.ProjectId,
            WorkflowId = last.WorkflowId,
            ActionId = last.ActionId,
            FileId = last.FileId,
            TaskId = last.TaskId,
            JobId = last.JobId,
            DirectoryId = last.DirectoryId,
            InputId = last.InputId,
            MemberId = last.MemberId,
            Description = last.Description,
            ExtraMetadata = extra,
            Payload = JsonNodes.EmptyObject(),
            Source = EventSources.Window,
            DedupKey = string.Create(CultureInfo.InvariantCulture, $"window:{actionId}:{run.Members[0]}:{Hash(key)}"),
            TimeCreated = now,
        };
    }

    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
