namespace Actionflow.Console.Components.Shared;

/// <summary>A node of a drawn graph: an event that starts steps, or a step.</summary>
public sealed record GraphNode(string Id, string Label, string? Caption, bool IsEvent, string? Status = null);

/// <summary>An edge: <paramref name="From"/> triggers <paramref name="To"/>, with the event's name as its label.</summary>
public sealed record GraphEdge(string From, string To, string? Label = null);

/// <summary>
/// Places any directed graph in layers (a node one row below the deepest node that points to it), so branches and
/// joins draw as they are; cycles are cut where they close.
/// </summary>
public static class GraphLayout
{
    public const double NodeWidth = 220;
    public const double NodeHeight = 56;
    public const double ColumnGap = 40;
    public const double RowGap = 56;
    public const double Margin = 16;

    public static (IReadOnlyDictionary<string, (double X, double Y)> Positions, double Width, double Height) Place(IReadOnlyList<GraphNode> nodes, IReadOnlyList<GraphEdge> edges)
    {
        var ids = nodes.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var incoming = nodes.ToDictionary(n => n.Id, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var edge in edges.Where(e => ids.Contains(e.From) && ids.Contains(e.To)))
        {
            incoming[edge.To].Add(edge.From);
        }

        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        int Rank(string id)
        {
            if (rank.TryGetValue(id, out var known))
            {
                return known;
            }

            if (!visiting.Add(id))
            {
                return 0;
            }

            var r = incoming[id].Count == 0 ? 0 : incoming[id].Max(Rank) + 1;
            visiting.Remove(id);
            return rank[id] = r;
        }

        foreach (var node in nodes)
        {
            Rank(node.Id);
        }

        var rows = nodes.GroupBy(n => rank[n.Id]).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        var columns = rows.Count == 0 ? 1 : rows.Max(r => r.Count);
        var width = Margin * 2 + columns * NodeWidth + (columns - 1) * ColumnGap;
        var positions = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        for (var row = 0; row < rows.Count; row++)
        {
            var items = rows[row];
            var rowWidth = items.Count * NodeWidth + (items.Count - 1) * ColumnGap;
            var x = (width - rowWidth) / 2;
            foreach (var node in items)
            {
                positions[node.Id] = (x, Margin + row * (NodeHeight + RowGap));
                x += NodeWidth + ColumnGap;
            }
        }

        var height = Margin * 2 + Math.Max(rows.Count, 1) * NodeHeight + Math.Max(rows.Count - 1, 0) * RowGap;
        return (positions, width, height);
    }
}
