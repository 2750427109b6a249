using Actionflow.Sdk;

namespace Actionflow.Core.FlowControl;

/// <summary>A step as the graph sees it: its place (ordinal), what triggers it, and the steps it declares it depends on.</summary>
public sealed record GraphStep(long Id, int Ordinal, string? EventName, IReadOnlyList<long> DependsOn);

/// <summary>An edge of a workflow: <c>depends_on</c> (declared) or <c>sequence</c> (Diffgram's: the next step by ordinal, triggered by <c>action_completed</c>).</summary>
public sealed record GraphEdge(long From, long To, string Kind)
{
    public const string DependsOn = "depends_on";
    public const string Sequence = "sequence";
}

/// <summary>Something that makes a graph unrunnable, named by the step that declares it.</summary>
public sealed record GraphProblem(long StepId, string Message);

/// <summary>
/// The edges of one workflow's non-archived steps. A step with <c>depends_on</c> follows exactly those steps; any other
/// step triggered by a step's completion follows the step before it by ordinal (lowest id on a tie), as in Diffgram,
/// so a linear Diffgram workflow is the chain it always was. Steps triggered by host events, manual or time triggers
/// start the graph.
/// </summary>
public sealed class WorkflowGraph
{
    private readonly Dictionary<long, List<long>> _predecessors = [];
    private readonly Dictionary<long, List<long>> _successors = [];

    private WorkflowGraph(IReadOnlyList<GraphEdge> edges, IReadOnlyList<GraphProblem> problems)
    {
        Edges = edges;
        Problems = problems;
        foreach (var edge in edges)
        {
            Add(_predecessors, edge.To, edge.From);
            Add(_successors, edge.From, edge.To);
        }
    }

    public IReadOnlyList<GraphEdge> Edges { get; }

    /// <summary>Dangling edges (to a step not in this workflow or archived), a step depending on itself, cycles.</summary>
    public IReadOnlyList<GraphProblem> Problems { get; }

    public IReadOnlyList<long> PredecessorsOf(long stepId) => _predecessors.TryGetValue(stepId, out var p) ? p : [];

    public IReadOnlyList<long> SuccessorsOf(long stepId) => _successors.TryGetValue(stepId, out var s) ? s : [];

    /// <summary>Whether a step's trigger is another step's completion (Diffgram's implicit edge applies to it).</summary>
    public static bool FollowsAStep(string? eventName) =>
        eventName is not null
        && eventName != EventKinds.ActionFailed
        && eventName != EventKinds.ManualTrigger
        && eventName != EventKinds.TimeTrigger
        && eventName != EventKinds.InputInstanceUploaded
        && !EventKinds.TaskAndFileEvents.Contains(eventName);

    public static WorkflowGraph Build(IReadOnlyCollection<GraphStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var ids = steps.Select(s => s.Id).ToHashSet();
        var edges = new List<GraphEdge>();
        var problems = new List<GraphProblem>();
        foreach (var step in steps.OrderBy(s => s.Ordinal).ThenBy(s => s.Id))
        {
            if (step.DependsOn.Count > 0)
            {
                foreach (var from in step.DependsOn.Distinct())
                {
                    if (from == step.Id)
                    {
                        problems.Add(new GraphProblem(step.Id, $"step {step.Id} cannot depend on itself"));
                    }
                    else if (!ids.Contains(from))
                    {
                        problems.Add(new GraphProblem(step.Id, $"step {step.Id} depends on step {from}, which is not a step of this workflow (or is archived)"));
                    }
                    else
                    {
                        edges.Add(new GraphEdge(from, step.Id, GraphEdge.DependsOn));
                    }
                }
            }
            else if (FollowsAStep(step.EventName) && PreviousByOrdinal(steps, step.Ordinal) is { } previous)
            {
                edges.Add(new GraphEdge(previous, step.Id, GraphEdge.Sequence));
            }
        }

        problems.AddRange(Cycles(ids, edges));
        return new WorkflowGraph(edges, problems);
    }

    /// <summary>The step with the greatest ordinal below <paramref name="ordinal"/> (lowest id on a tie), or null.</summary>
    public static long? PreviousByOrdinal(IEnumerable<GraphStep> steps, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(steps);
        GraphStep? best = null;
        foreach (var s in steps)
        {
            if (s.Ordinal < ordinal && (best is null || s.Ordinal > best.Ordinal || (s.Ordinal == best.Ordinal && s.Id < best.Id)))
            {
                best = s;
            }
        }

        return best?.Id;
    }

    /// <summary>Kahn's algorithm: what is left once every step with no unvisited predecessor is peeled off lies on or behind a cycle.</summary>
    private static IEnumerable<GraphProblem> Cycles(HashSet<long> ids, List<GraphEdge> edges)
    {
        var incoming = ids.ToDictionary(id => id, _ => 0);
        var successors = new Dictionary<long, List<long>>();
        foreach (var e in edges.DistinctBy(e => (e.From, e.To)))
        {
            incoming[e.To]++;
            Add(successors, e.From, e.To);
        }

        var ready = new Queue<long>(incoming.Where(kv => kv.Value == 0).Select(kv => kv.Key));
        while (ready.TryDequeue(out var id))
        {
            incoming.Remove(id);
            foreach (var next in successors.GetValueOrDefault(id) ?? [])
            {
                if (--incoming[next] == 0)
                {
                    ready.Enqueue(next);
                }
            }
        }

        if (incoming.Count == 0)
        {
            yield break;
        }

        var cycle = incoming.Keys.Order().ToList();
        yield return new GraphProblem(cycle[0], $"steps {string.Join(", ", cycle)} form a cycle");
    }

    private static void Add(Dictionary<long, List<long>> map, long key, long value)
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }

        if (!list.Contains(value))
        {
            list.Add(value);
        }
    }
}
