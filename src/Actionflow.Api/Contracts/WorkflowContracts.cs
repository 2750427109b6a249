using System.Text.Json.Serialization;
using Actionflow.Core.Domain;

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
    public static WorkflowDto From(Workflow w, IReadOnlyList<ActionDto>? actions = null, IReadOnlyList<Schedule>? schedules = null)
    {
        var list = (schedules ?? []).OrderBy(s => s.NextDueAt ?? DateTime.MaxValue).ThenBy(s => s.ActionId).Select(ScheduleDto.From).ToList();
        var first = list.FirstOrDefault();
        var last = list.Where(s => s.LastFire is not null).MaxBy(s => s.LastFire!.FiredAt)?.LastFire;
        return new(w.Id, w.StringId, w.Name, w.TriggerType, w.TimeWindow, w.Active, w.Archived, w.TimeCreated, w.TimeUpdated, actions,
            first?.NextFireAt, last, first?.CatchUp, list);
    }
}

public sealed record WorkflowResponse(WorkflowDto Workflow);

public sealed record FlowListResponse(IReadOnlyList<WorkflowDto> FlowList);

/// <summary>Body of <c>POST actions/workflow/new</c>. The UI also sends <c>trigger_type</c> and <c>time_window</c>.</summary>
public sealed record CreateWorkflowRequest(string? Name, string? TriggerType, string? TimeWindow);

/// <summary>Body of <c>POST action/flow/list</c> (Diffgram's UI sends <c>{}</c>; <c>mode</c> is accepted and unused).</summary>
public sealed record FlowListRequest(string? Mode, int? Page, int? PageSize);

/// <summary>
/// Body of <c>PUT actions/workflow/update</c>. <c>mode</c>: <c>UPDATE</c> (default) or <c>ARCHIVE</c>. Fields left
/// out (or null) keep their values.
/// </summary>
public sealed record UpdateWorkflowRequest(long? WorkflowId, string? Name, string? Mode, bool? Active, string? TriggerType, string? TimeWindow);

/// <summary>Body of <c>POST action/workflow-run/list</c>.</summary>
public sealed record WorkflowRunListRequest(long? FlowId, int? Page, int? PageSize);

public sealed record WorkflowRunListResponse(IReadOnlyList<WorkflowRunDto> WorkflowRunList);
