using System.Text.Json.Nodes;

namespace Actionflow.Core.Domain;

/// <summary>
/// The durable record of one join in one workflow run: the predecessors that arrived (by step id: status and output)
/// and, once taken, the decision (<c>run</c>, <c>skip</c>, <c>fail</c>). Unique per (workflow run, join step); every
/// arrival updates it under its row lock, and only the arrival that finds it undecided and decides it writes the join's run.
/// </summary>
public sealed class JoinState
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public long WorkflowRunId { get; set; }
    public long ActionId { get; set; }
    public JsonObject Arrived { get; set; } = [];
    public string? Decision { get; set; }
    public DateTime TimeCreated { get; set; }
    public DateTime TimeUpdated { get; set; }
}
