using System.Globalization;
using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.FlowControl;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

/// <summary>
/// A join's arrivals as both providers record them in <c>join_states</c>: one entry per predecessor (status, output)
/// merged into the row, the decision taken by <see cref="JoinRule"/> on the merged row, and the matched step the
/// deciding arrival turns into (a pending run, or a run recorded skipped or failed with the reason).
/// </summary>
internal static class JoinArrivals
{
    /// <summary>The entries of <paramref name="arrivals"/> (of one join in one workflow run) as the row stores them.</summary>
    public static JsonObject Entries(IEnumerable<JoinArrival> arrivals)
    {
        var entries = new JsonObject();
        foreach (var a in arrivals)
        {
            entries[a.PredecessorId.ToString(CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["status"] = RunLifecycle.Name(a.Status),
                ["output"] = a.Output?.DeepClone(),
            };
        }

        return entries;
    }

    public static JoinVerdict Decide(JoinSettings settings, JsonObject arrived)
    {
        var arrivals = new List<Arrival>();
        foreach (var (key, entry) in arrived)
        {
            if (long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                && entry?["status"]?.GetValue<string>() is { } status
                && Enum.TryParse<ActionRunStatus>(status, ignoreCase: true, out var parsed))
            {
                arrivals.Add(new Arrival(id, parsed));
            }
        }

        return JoinRule.Decide(settings, arrivals);
    }

    /// <summary>The outputs of the predecessors that succeeded, keyed by step id: the join's input (<c>extra_metadata.steps</c>).</summary>
    public static JsonObject Outputs(JsonObject arrived)
    {
        var outputs = new JsonObject();
        foreach (var (key, entry) in arrived)
        {
            if (entry?["status"]?.GetValue<string>() == "succeeded")
            {
                outputs[key] = entry["output"]?.DeepClone();
            }
        }

        return outputs;
    }

    public static string Name(JoinVerdictKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The step the deciding arrival records: a run to start, or one ended with the verdict's reason.</summary>
    public static MatchedStep Resolve(MatchedStep step, JoinVerdict verdict) => verdict.Kind switch
    {
        JoinVerdictKind.Skip => step with { Join = null, SkipReason = verdict.Reason },
        JoinVerdictKind.Fail => step with { Join = null, FailReason = verdict.Reason },
        _ => step with { Join = null },
    };

    /// <summary>
    /// For EF (SQLite, one writer): records the join arrivals among <paramref name="matches"/> (all of one emitted
    /// event, in <paramref name="workflowRunId"/>) and returns the matches with each arrival replaced by the join's
    /// step when this arrival decides it, or dropped. A join that runs gets its predecessors' outputs in the event's
    /// <c>extra_metadata.steps</c>.
    /// </summary>
    public static async Task<IReadOnlyList<MatchedStep>> ApplyAsync(
        ActionflowDbContext db, long projectId, long workflowRunId, Event emitted, IReadOnlyList<MatchedStep> matches, DateTime now, CancellationToken cancellationToken)
    {
        if (!matches.Any(m => m.Join is not null))
        {
            return matches;
        }

        var result = matches.Where(m => m.Join is null).ToList();
        foreach (var group in matches.Where(m => m.Join is not null).GroupBy(m => m.ActionId))
        {
            var state = db.JoinStates.Local.FirstOrDefault(j => j.WorkflowRunId == workflowRunId && j.ActionId == group.Key)
                ?? await db.JoinStates.FirstOrDefaultAsync(j => j.WorkflowRunId == workflowRunId && j.ActionId == group.Key, cancellationToken);
            if (state is null)
            {
                state = new JoinState { ProjectId = projectId, WorkflowRunId = workflowRunId, ActionId = group.Key, TimeCreated = now };
                db.JoinStates.Add(state);
            }

            var merged = (JsonObject)state.Arrived.DeepClone();
            foreach (var (key, entry) in Entries(group.Select(m => m.Join!)))
            {
                merged[key] = entry?.DeepClone();
            }

            state.Arrived = merged;
            state.TimeUpdated = now;
            if (state.Decision is not null)
            {
                continue;
            }

            var verdict = Decide(group.First().Join!.Settings, merged);
            if (!verdict.Decided)
            {
                continue;
            }

            state.Decision = Name(verdict.Kind);
            if (verdict.Kind == JoinVerdictKind.Run)
            {
                emitted.ExtraMetadata["steps"] = Outputs(merged);
            }

            result.Add(Resolve(group.First(), verdict));
        }

        return result;
    }
}
