using System.Text.Json.Serialization;
using Actionflow.Core.Domain;
using Actionflow.Core.FlowControl;

namespace Actionflow.Api.Contracts;

/// <summary>
/// Diffgram's <c>Workflow.serialize()</c> keys, plus <c>archived</c>; <c>actions_list</c> where Diffgram sends it; and
/// its schedules (steps triggered by <c>time_trigger</c> while it is active): <c>next_fire_at</c>, <c>last_fire</c> and
/// <c>catch_up</c> of the earliest one, every one in <c>schedules</c>.
/// </summary>
public sealed record WorkflowDto(
    long Id,
    string StringId,
    string Name,
    string? TriggerType,
    string? TimeWindow,
    bool Active,
    bool Archived,
    DateTime TimeCreated,
    DateTime TimeUpdated,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ActionDto>? ActionsList,
    DateTime? NextFireAt,
    LastFireDto? LastFire,
    string? CatchUp,
    IReadOnlyList<ScheduleDto> Schedules)
{
    /// <summary>At most this many runs of the workflow's steps run at once, across workers (the others wait their turn); null: no limit.</summary>
    public int? ConcurrencyLimit { get; init; }

    /// <summary>The steps and their edges (declared <c>depends_on</c> and Diffgram's implicit sequence), when the steps are listed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public WorkflowGraphDto? Graph { get; init; }

    public static WorkflowDto From(Workflow w, IReadOnlyList<ActionDto>? actions = null, IReadOnlyList<Schedule>? schedules = null)
    {
        var list = (schedules ?? []).OrderBy(s => s.NextDueAt ?? DateTime.MaxValue).ThenBy(s => s.ActionId).Select(ScheduleDto.From).ToList();
        var first = list.FirstOrDefault();
        var last = list.Where(s => s.LastFire is not null).MaxBy(s => s.LastFire!.FiredAt)?.LastFire;
        return new(w.Id, w.StringId, w.Name, w.TriggerType, w.TimeWindow, w.Active, w.Archived, w.TimeCreated, w.TimeUpdated, actions,
            first?.NextFireAt, last, first?.CatchUp, list)
        {
            ConcurrencyLimit = w.ConcurrencyLimit,
        };
    }
}

public sealed record WorkflowResponse(WorkflowDto Workflow);

public sealed record FlowListResponse(IReadOnlyList<WorkflowDto> FlowList);

/// <summary>Body of <c>POST actions/workflow/new</c>. The UI also sends <c>trigger_type</c> and <c>time_window</c>;
/// <c>concurrency_limit</c> (an addition): at most this many runs of its steps at once.</summary>
public sealed record CreateWorkflowRequest(string? Name, string? TriggerType, string? TimeWindow, int? ConcurrencyLimit = null);

/// <summary>Body of <c>POST action/flow/list</c> (Diffgram's UI sends <c>{}</c>; <c>mode</c> is accepted and unused).</summary>
public sealed record FlowListRequest(string? Mode, int? Page, int? PageSize);

/// <summary>
/// Body of <c>PUT actions/workflow/update</c>. <c>mode</c>: <c>UPDATE</c> (default) or <c>ARCHIVE</c>. Fields left
/// out (or null) keep their values; <c>concurrency_limit: 0</c> removes the limit.
/// </summary>
public sealed record UpdateWorkflowRequest(long? WorkflowId, string? Name, string? Mode, bool? Active, string? TriggerType, string? TimeWindow, int? ConcurrencyLimit = null);

/// <summary>Body of <c>POST action/workflow-run/list</c>.</summary>
public sealed record WorkflowRunListRequest(long? FlowId, int? Page, int? PageSize);

public sealed record WorkflowRunListResponse(IReadOnlyList<WorkflowRunDto> WorkflowRunList);

/// <summary>A workflow as a graph: one node per non-archived step, one edge per "runs after".</summary>
public sealed record WorkflowGraphDto(IReadOnlyList<GraphNodeDto> Nodes, IReadOnlyList<GraphEdgeDto> Edges)
{
    public static WorkflowGraphDto From(IReadOnlyList<WorkflowAction> steps)
    {
        var graph = WorkflowGraph.Build([.. steps.Select(s => new GraphStep(s.Id, s.Ordinal, s.TriggerEventName, s.DependsOn))]);
        var byId = steps.ToDictionary(s => s.Id);
        return new WorkflowGraphDto(
            [.. steps.Select(s => new GraphNodeDto(s.Id, s.Kind, s.PublicName, s.Ordinal, s.TriggerEventName, s.Condition, s.ElseBranch, s.Active,
                s.DependsOn.Distinct().Count() > 1 ? s.JoinMode : null, s.DependsOn.Distinct().Count() > 1 ? s.OnPredecessorFailure : null))],
            [.. graph.Edges.Select(e => new GraphEdgeDto(e.From, e.To, e.Kind,
                byId.TryGetValue(e.To, out var to) && !to.ElseBranch && !string.IsNullOrWhiteSpace(to.Condition) ? to.Condition : null,
                byId.TryGetValue(e.To, out var target) && target.ElseBranch))]);
    }
}

/// <param name="EventName">What starts the step (<c>trigger_data.event_name</c>).</param>
/// <param name="Join">For a join (several depends_on): all or any; null otherwise.</param>
public sealed record GraphNodeDto(
    long Id, string Kind, string PublicName, int Ordinal, string? EventName, string? Condition, bool ElseBranch, bool Active, string? Join, string? OnPredecessorFailure);

/// <param name="Kind"><c>depends_on</c> (declared) or <c>sequence</c> (the next step by ordinal, triggered by <c>action_completed</c>).</param>
/// <param name="Condition">The target step's condition, when it has one: the edge is taken only when it holds.</param>
/// <param name="Else">The target is an else branch.</param>
public sealed record GraphEdgeDto(long From, long To, string Kind, string? Condition, bool Else);
