using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;

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
            // Shared by concurrent runs from here on: build System.Text.Json's lazy node trees now, while only this thread sees them.
            Materialize(loaded.Action.ConfigData);
            Materialize(loaded.Action.TriggerData);
            Materialize(loaded.Action.Precondition);
            Materialize(loaded.Action.RetryPolicy);
            Materialize(loaded.Action.CompletionConditionData);
            Materialize(loaded.Action.Output);
            Materialize(loaded.Action.OutputInterface);
            generation.Snapshots.TryAdd(actionId, loaded);
        }

        return loaded;
    }

    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    Materialize(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Materialize(child);
                }

                break;
        }
    }

    private sealed class Generation(long version)
    {
        public long Version { get; } = version;

        public ConcurrentDictionary<long, ActionSnapshot> Snapshots { get; } = new();
    }
}
