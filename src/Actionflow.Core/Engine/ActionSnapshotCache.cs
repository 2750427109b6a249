using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;

namespace Actionflow.Core.Engine;

/// <summary>
/// The steps the actions consumer re-checks before each run, read from the database once per definitions version.
/// Every change to workflows or steps bumps that version in its own transaction (<see cref="IDefinitionSource"/>), the
/// trigger index reloads on it, and this cache is dropped with it: a run sees a change as soon as the index does.
/// </summary>
public sealed class ActionSnapshotCache(IPipelineStore store, TriggerIndex index)
{
    private Generation _current = new(long.MinValue);

    public async ValueTask<ActionSnapshot?> GetAsync(long actionId, CancellationToken cancellationToken)
    {
        // Active steps come with the index; only the others (inactive, archived, unknown) are read here.
        if (index.TryGetStep(actionId, out var step))
        {
            return step;
        }

        var version = index.Version;
        var generation = Volatile.Read(ref _current);
        if (generation.Version != version)
        {
            generation = new Generation(version);
            Volatile.Write(ref _current, generation);
        }

        if (generation.Snapshots.TryGetValue(actionId, out var cached))
        {
            return cached;
        }

        var loaded = await store.LoadActionAsync(actionId, cancellationToken);
        if (loaded is not null)
        {
            // Shared by concurrent runs from here on.
            Materialize(loaded.Action);
            generation.Snapshots.TryAdd(actionId, loaded);
        }

        return loaded;
    }

    /// <summary>Builds every JSON tree of a step that concurrent runs will read (see <see cref="JsonNodes.Materialize"/>).</summary>
    internal static void Materialize(WorkflowAction action)
    {
        foreach (var node in (JsonNode?[])[action.TriggerData, action.Precondition, action.CompletionConditionData, action.ConfigData,
                     action.Output, action.OutputInterface, action.RetryPolicy])
        {
            JsonNodes.Materialize(node);
        }
    }

    private sealed class Generation(long version)
    {
        public long Version { get; } = version;

        public ConcurrentDictionary<long, ActionSnapshot> Snapshots { get; } = new();
    }
}
