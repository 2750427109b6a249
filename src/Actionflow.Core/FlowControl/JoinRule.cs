using Actionflow.Core.Domain;

namespace Actionflow.Core.FlowControl;

/// <summary>A join's <c>join</c> setting: it runs when all of its predecessors succeeded, or as soon as any did.</summary>
public enum JoinMode
{
    All,
    Any,
}

/// <summary>What a join does when a predecessor fails or is skipped: it is recorded skipped, or failed, with the reason.</summary>
public enum PredecessorFailure
{
    Skip,
    Fail,
}

/// <summary>A join's settings: the steps it waits for, and how.</summary>
public sealed record JoinSettings(IReadOnlyList<long> Predecessors, JoinMode Mode, PredecessorFailure OnFailure)
{
    public static string Name(JoinMode mode) => mode == JoinMode.All ? "all" : "any";

    public static string Name(PredecessorFailure failure) => failure == PredecessorFailure.Skip ? "skip" : "fail";

    public static JoinMode? ParseMode(string? value) => value switch
    {
        null or "all" => JoinMode.All,
        "any" => JoinMode.Any,
        _ => null,
    };

    public static PredecessorFailure? ParseFailure(string? value) => value switch
    {
        null or "skip" => PredecessorFailure.Skip,
        "fail" => PredecessorFailure.Fail,
        _ => null,
    };
}

/// <summary>A predecessor's arrival at a join: how it ended, its output, and the join's settings (to decide with).</summary>
public sealed record JoinArrival(long PredecessorId, ActionRunStatus Status, System.Text.Json.Nodes.JsonObject? Output, JoinSettings Settings);

/// <summary>How one predecessor ended, as the join records it.</summary>
public sealed record Arrival(long PredecessorId, ActionRunStatus Status);

public enum JoinVerdictKind
{
    /// <summary>Not decided yet: more predecessors must arrive.</summary>
    Wait,
    /// <summary>The join runs now, once.</summary>
    Run,
    /// <summary>The join is recorded skipped with the reason.</summary>
    Skip,
    /// <summary>The join is recorded failed with the reason.</summary>
    Fail,
}

public readonly record struct JoinVerdict(JoinVerdictKind Kind, string? Reason)
{
    public bool Decided => Kind != JoinVerdictKind.Wait;
}

/// <summary>
/// Whether a join is decided by the predecessors that have arrived: <c>all</c> runs once every predecessor succeeded
/// and is decided against as soon as one failed or was skipped; <c>any</c> runs at the first success and is decided
/// against only when every predecessor arrived without one. A decision is taken once: the store records it with the
/// arrivals (a conditional update), so the join runs at most once however often a predecessor arrives. Pure.
/// </summary>
public static class JoinRule
{
    public static JoinVerdict Decide(JoinSettings join, IReadOnlyCollection<Arrival> arrived)
    {
        ArgumentNullException.ThrowIfNull(join);
        ArgumentNullException.ThrowIfNull(arrived);
        var relevant = arrived.Where(a => join.Predecessors.Contains(a.PredecessorId)).DistinctBy(a => a.PredecessorId).ToList();
        var succeeded = relevant.Where(a => a.Status == ActionRunStatus.Succeeded).Select(a => a.PredecessorId).ToList();
        var unsuccessful = relevant.Where(a => a.Status != ActionRunStatus.Succeeded).OrderBy(a => a.PredecessorId).ToList();
        if (join.Mode == JoinMode.Any)
        {
            if (succeeded.Count > 0)
            {
                return new JoinVerdict(JoinVerdictKind.Run, null);
            }

            return relevant.Count == join.Predecessors.Distinct().Count()
                ? Against(join, $"no predecessor succeeded ({Describe(unsuccessful)})")
                : new JoinVerdict(JoinVerdictKind.Wait, null);
        }

        if (unsuccessful.Count > 0)
        {
            return Against(join, $"predecessor {Describe(unsuccessful)}");
        }

        return join.Predecessors.All(succeeded.Contains) ? new JoinVerdict(JoinVerdictKind.Run, null) : new JoinVerdict(JoinVerdictKind.Wait, null);
    }

    private static JoinVerdict Against(JoinSettings join, string reason) =>
        join.OnFailure == PredecessorFailure.Fail ? new JoinVerdict(JoinVerdictKind.Fail, "join failed: " + reason) : new JoinVerdict(JoinVerdictKind.Skip, "join skipped: " + reason);

    private static string Describe(IEnumerable<Arrival> arrivals) =>
        string.Join(", ", arrivals.Select(a => $"{a.PredecessorId} {RunLifecycle.Name(a.Status)}"));
}
