using System.Collections.Frozen;
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
        var windows = new Dictionary<long, WindowConfig>();
        var unusable = new HashSet<long>();
        foreach (var t in triggers.Where(t => t.TriggerData.ContainsKey("window")))
        {
            if (WindowConfig.Parse(t.TriggerData["window"], out _) is { } window)
            {
                windows[t.ActionId] = window;
            }
            else
            {
                unusable.Add(t.ActionId);
            }
        }

        // A filter is compiled once per snapshot; a step whose filter does not compile (saved before validation, or
        // edited in the database) is not matched at all, rather than run for every event as if it had no filter.
        var filters = new Dictionary<long, CelProgram>();
        foreach (var t in triggers)
        {
            if (StepFilter.Compile(t.TriggerData) is { } compiled)
            {
                if (compiled.Program is { } program)
                {
                    filters[t.ActionId] = program;
                }
                else
                {
                    unusable.Add(t.ActionId);
                }
            }
        }

        var flows = FlowsOf(triggers, unusable);
        var byKey = triggers
            .Where(t => !unusable.Contains(t.ActionId))
            .GroupBy(t => (t.ProjectId, t.EventName))
            .ToFrozenDictionary(g => g.Key, g => g.OrderBy(t => t.WorkflowId).ThenBy(t => t.Ordinal).ToArray());
        var steps = triggers
            .Where(t => t.Snapshot is not null)
            .DistinctBy(t => t.ActionId)
            .ToFrozenDictionary(t => t.ActionId, t => t.Snapshot!);
        lock (_loadLock)
        {
            if (version >= _snapshot.Version)
            {
                Volatile.Write(ref _snapshot, new Snapshot(version, byKey, triggers.Count, steps, windows.ToFrozenDictionary(), filters.ToFrozenDictionary(), flows.ToFrozenDictionary()));
            }
        }

        _ready.TrySetResult();
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

                (matched ??= []).Add(step);
            }
        }

        return matched ?? (IReadOnlyList<MatchedStep>)[];
    }

    /// <summary>
    /// The branch settings of the steps that have any: a condition or else (compiled; a step whose condition does not
    /// compile is not matched at all), a join's settings, and the joins each predecessor feeds.
    /// </summary>
    private static Dictionary<long, StepFlow> FlowsOf(IReadOnlyList<TriggerDefinition> triggers, HashSet<long> unusable)
    {
        var flows = new Dictionary<long, StepFlow>();
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

        return flows;
    }

    private sealed record Snapshot(
        long Version,
        FrozenDictionary<(long ProjectId, string EventName), TriggerDefinition[]> ByKey,
        int Count,
        FrozenDictionary<long, ActionSnapshot> Steps,
        FrozenDictionary<long, WindowConfig> Windows,
        FrozenDictionary<long, CelProgram> Filters,
        FrozenDictionary<long, StepFlow> Flows)
    {
        public static Snapshot Empty { get; } = new(-1, FrozenDictionary<(long, string), TriggerDefinition[]>.Empty, 0, FrozenDictionary<long, ActionSnapshot>.Empty,
            FrozenDictionary<long, WindowConfig>.Empty, FrozenDictionary<long, CelProgram>.Empty,
            FrozenDictionary<long, StepFlow>.Empty);
    }
}
