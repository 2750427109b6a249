using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Expressions;
using Actionflow.Core.FlowControl;
using Actionflow.Core.Json;
using Actionflow.Core.Scheduling;

namespace Actionflow.Core.Engine;

/// <summary>
/// The triggers of every active step, in memory, keyed by (project, event kind). Matching an event reads no
/// database. <see cref="DefinitionsRefresher"/> swaps in a new snapshot when definitions change.
/// </summary>
public sealed class TriggerIndex
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _loadLock = new();
    private Snapshot _snapshot = Snapshot.Empty;

    public long Version => _snapshot.Version;

    public int Count => _snapshot.Count;

    public bool IsReady => _ready.Task.IsCompleted;

    /// <summary>Completes once the first snapshot is loaded.</summary>
    public Task WaitReadyAsync(CancellationToken cancellationToken) => _ready.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Swaps in the triggers read at <paramref name="version"/>. Reloads can run concurrently (the poller and the API
    /// after a change): a snapshot older than the current one is dropped, so the index never goes back in time.
    /// </summary>
    public void Load(long version, IReadOnlyList<TriggerDefinition> triggers)
    {
        ArgumentNullException.ThrowIfNull(triggers);
        var part = Build(triggers);
        var snapshot = new Snapshot(
            version,
            ShardedMap<(long, string), TriggerDefinition[]>.From(part.ByKey.Select(p => KeyValuePair.Create(p.Key, Ordered(p.Value)))),
            ShardedMap<long, TriggerDefinition[]>.From(part.ByWorkflow.Select(p => KeyValuePair.Create(p.Key, p.Value.ToArray()))),
            triggers.Count,
            ShardedMap<long, ActionSnapshot>.From(part.Steps),
            ShardedMap<long, WindowConfig>.From(part.Windows),
            ShardedMap<long, CelProgram>.From(part.Filters),
            ShardedMap<long, StepFlow>.From(part.Flows));
        lock (_loadLock)
        {
            if (version >= _snapshot.Version)
            {
                Volatile.Write(ref _snapshot, snapshot);
            }
        }

        _ready.TrySetResult();
    }

    /// <summary>
    /// Replaces every step of the workflows in <paramref name="changes"/> (read at <paramref name="version"/>) with the
    /// triggers given for them, keeping every other workflow's as loaded: copy-on-write, so matching in flight keeps the
    /// snapshot it started with and the next match sees all of the change or none of it. Applies only on top of the
    /// snapshot the changes were read against (<paramref name="fromVersion"/>); false, and nothing changed, otherwise.
    /// </summary>
    public bool Apply(long fromVersion, long version, DefinitionChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var changed = changes.WorkflowIds.ToHashSet();
        if (changes.Triggers.FirstOrDefault(t => !changed.Contains(t.WorkflowId)) is { } stray)
        {
            throw new ArgumentException($"trigger of step {stray.ActionId} belongs to workflow {stray.WorkflowId}, not among the changed ones", nameof(changes));
        }

        var part = Build(changes.Triggers);
        lock (_loadLock)
        {
            var current = _snapshot;
            if (current.Version != fromVersion || version < fromVersion)
            {
                return false;
            }

            var old = changed.SelectMany(id => current.ByWorkflow.GetValueOrDefault(id) ?? []).ToList();
            var oldSteps = old.Select(t => t.ActionId).ToList();
            var keys = old.Select(t => (t.ProjectId, t.EventName)).Concat(part.ByKey.Keys).ToHashSet();
            var emptied = new List<(long, string)>();
            var merged = new List<KeyValuePair<(long, string), TriggerDefinition[]>>();
            foreach (var key in keys)
            {
                var kept = (current.ByKey.GetValueOrDefault(key) ?? []).Where(t => !changed.Contains(t.WorkflowId));
                var candidates = Ordered(kept.Concat(part.ByKey.GetValueOrDefault(key) ?? []));
                if (candidates.Length == 0)
                {
                    emptied.Add(key);
                }
                else
                {
                    merged.Add(KeyValuePair.Create(key, candidates));
                }
            }

            Volatile.Write(ref _snapshot, new Snapshot(
                version,
                current.ByKey.With(emptied, merged),
                current.ByWorkflow.With(changed, part.ByWorkflow.Select(p => KeyValuePair.Create(p.Key, p.Value.ToArray()))),
                current.Count - old.Count + changes.Triggers.Count,
                current.Steps.With(oldSteps, part.Steps),
                current.Windows.With(oldSteps, part.Windows),
                current.Filters.With(oldSteps, part.Filters),
                current.Flows.With(oldSteps, part.Flows)));
        }

        return true;
    }

    private static TriggerDefinition[] Ordered(IEnumerable<TriggerDefinition> triggers) =>
        [.. triggers.OrderBy(t => t.WorkflowId).ThenBy(t => t.Ordinal)];

    /// <summary>What the triggers of whole workflows add to the index (no other workflow's steps are read).</summary>
    private static Part Build(IReadOnlyList<TriggerDefinition> triggers)
    {
        foreach (var t in triggers)
        {
            // Read by every handler at once from here on: build System.Text.Json's lazy node trees while only this thread sees them.
            JsonNodes.Materialize(t.TriggerData);
            JsonNodes.Materialize(t.ConfigData);
            if (t.Snapshot is { Action: var action })
            {
                ActionSnapshotCache.Materialize(action);
            }
        }

        // A step with a window is matched into its window; one whose window the API would refuse is not matched at all,
        // rather than run once per event as if it had none.
        var part = new Part();
        var unusable = new HashSet<long>();
        foreach (var t in triggers.Where(t => t.TriggerData.ContainsKey("window")))
        {
            if (WindowConfig.Parse(t.TriggerData["window"], out _) is { } window)
            {
                part.Windows[t.ActionId] = window;
            }
            else
            {
                unusable.Add(t.ActionId);
            }
        }

        // A filter is compiled once per load of its workflow; a step whose filter does not compile (saved before
        // validation, or edited in the database) is not matched at all, rather than run for every event as if it had no filter.
        foreach (var t in triggers)
        {
            if (StepFilter.Compile(t.TriggerData) is { } compiled)
            {
                if (compiled.Program is { } program)
                {
                    part.Filters[t.ActionId] = program;
                }
                else
                {
                    unusable.Add(t.ActionId);
                }
            }
        }

        FlowsOf(triggers, unusable, part.Flows);
        foreach (var t in triggers)
        {
            if (!part.ByWorkflow.TryGetValue(t.WorkflowId, out var ofWorkflow))
            {
                part.ByWorkflow[t.WorkflowId] = ofWorkflow = [];
            }

            ofWorkflow.Add(t);
            if (!unusable.Contains(t.ActionId))
            {
                if (!part.ByKey.TryGetValue((t.ProjectId, t.EventName), out var candidates))
                {
                    part.ByKey[(t.ProjectId, t.EventName)] = candidates = [];
                }

                candidates.Add(t);
            }

            if (t.Snapshot is not null)
            {
                part.Steps.TryAdd(t.ActionId, t.Snapshot);
            }
        }

        return part;
    }

    /// <summary>An active step of an active workflow as loaded with the index; false for any other step.</summary>
    public bool TryGetStep(long actionId, [NotNullWhen(true)] out ActionSnapshot? step) =>
        Volatile.Read(ref _snapshot).Steps.TryGetValue(actionId, out step);

    /// <summary>The window of an active step that has one (<c>trigger_data.window</c>).</summary>
    public bool TryGetWindow(long actionId, [NotNullWhen(true)] out WindowConfig? window) =>
        Volatile.Read(ref _snapshot).Windows.TryGetValue(actionId, out window);

    /// <summary>The branch settings (condition, else) of an active step that has any.</summary>
    public StepFlow? FlowOf(long actionId) => Volatile.Read(ref _snapshot).Flows.GetValueOrDefault(actionId);

    /// <summary>The ids of the steps <paramref name="ev"/> starts.</summary>
    public IReadOnlyList<long> Match(Event ev) => [.. MatchSteps(ev).Select(s => s.ActionId)];

    /// <summary>The steps <paramref name="ev"/> starts, with their workflow and kind (and, for a windowed step, the event's window key).</summary>
    public IReadOnlyList<MatchedStep> MatchSteps(Event ev)
    {
        ArgumentNullException.ThrowIfNull(ev);
        var snapshot = Volatile.Read(ref _snapshot);
        if (!snapshot.ByKey.TryGetValue((ev.ProjectId, ev.Kind), out var candidates))
        {
            return [];
        }

        // Most events start one step: it is kept aside and returned in an array of one; a list only from the second.
        MatchedStep? first = null;
        List<MatchedStep>? matched = null;
        JsonObject? shaped = null;
        foreach (var t in candidates)
        {
            if (TriggerFilter.Check(t.ActionId, t.WorkflowId, t.PreviousActionId, t.TriggerData, ev, t.DependsOn) is null)
            {
                if (snapshot.Filters.TryGetValue(t.ActionId, out var filter))
                {
                    shaped ??= DiffgramEventCodec.ToDiffgramJson(ev);
                    if (!StepFilter.Test(filter, ev, shaped).Holds)
                    {
                        continue;
                    }
                }

                var step = new MatchedStep(t.ActionId, t.WorkflowId, t.Kind);
                if (snapshot.Windows.TryGetValue(t.ActionId, out var window))
                {
                    // The key is read from the event as the step's runner would see it.
                    shaped ??= DiffgramEventCodec.ToDiffgramJson(ev);
                    step = step with { WindowKey = window.KeyOf(shaped) };
                }

                if (first is null)
                {
                    first = step;
                }
                else
                {
                    (matched ??= [first.Value]).Add(step);
                }
            }
        }

        return matched ?? (first is { } only ? [only] : (IReadOnlyList<MatchedStep>)[]);
    }

    /// <summary>
    /// The branch settings of the steps that have any: a condition or else (compiled; a step whose condition does not
    /// compile is not matched at all), a join's settings, and the joins each predecessor feeds.
    /// </summary>
    private static void FlowsOf(IReadOnlyList<TriggerDefinition> triggers, HashSet<long> unusable, Dictionary<long, StepFlow> flows)
    {
        var feeds = new Dictionary<long, List<MatchedStep>>();
        foreach (var t in triggers.DistinctBy(t => t.ActionId))
        {
            if (t.Snapshot is not { Action: var a })
            {
                continue;
            }

            JoinSettings? join = null;
            if (a.DependsOn.Count > 1)
            {
                join = new JoinSettings([.. a.DependsOn.Distinct()], JoinSettings.ParseMode(a.JoinMode) ?? JoinMode.All,
                    JoinSettings.ParseFailure(a.OnPredecessorFailure) ?? PredecessorFailure.Skip);
                foreach (var predecessor in join.Predecessors)
                {
                    if (!feeds.TryGetValue(predecessor, out var list))
                    {
                        feeds[predecessor] = list = [];
                    }

                    list.Add(new MatchedStep(t.ActionId, t.WorkflowId, t.Kind));
                }
            }

            if (a.ElseBranch || !string.IsNullOrWhiteSpace(a.Condition) || join is not null)
            {
                if (StepFlow.Compile(t.ActionId, a.Condition, a.ElseBranch, out _) is { } flow)
                {
                    flows[t.ActionId] = flow with { Join = join };
                }
                else
                {
                    unusable.Add(t.ActionId);
                }
            }
        }

        foreach (var (predecessor, joins) in feeds)
        {
            flows[predecessor] = (flows.GetValueOrDefault(predecessor) ?? new StepFlow(predecessor, null, false)) with { Feeds = joins };
        }
    }

    /// <summary>One consistent view: every lookup of a match or a run reads one of these, swapped by one reference write.</summary>
    private sealed record Snapshot(
        long Version,
        ShardedMap<(long ProjectId, string EventName), TriggerDefinition[]> ByKey,
        ShardedMap<long, TriggerDefinition[]> ByWorkflow,
        int Count,
        ShardedMap<long, ActionSnapshot> Steps,
        ShardedMap<long, WindowConfig> Windows,
        ShardedMap<long, CelProgram> Filters,
        ShardedMap<long, StepFlow> Flows)
    {
        public static Snapshot Empty { get; } = new(-1, ShardedMap<(long, string), TriggerDefinition[]>.Empty, ShardedMap<long, TriggerDefinition[]>.Empty, 0,
            ShardedMap<long, ActionSnapshot>.Empty, ShardedMap<long, WindowConfig>.Empty, ShardedMap<long, CelProgram>.Empty,
            ShardedMap<long, StepFlow>.Empty);
    }

    private sealed class Part
    {
        public Dictionary<(long ProjectId, string EventName), List<TriggerDefinition>> ByKey { get; } = [];

        public Dictionary<long, List<TriggerDefinition>> ByWorkflow { get; } = [];

        public Dictionary<long, ActionSnapshot> Steps { get; } = [];

        public Dictionary<long, WindowConfig> Windows { get; } = [];

        public Dictionary<long, CelProgram> Filters { get; } = [];

        public Dictionary<long, StepFlow> Flows { get; } = [];
    }
}
