using System.Globalization;
using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Api.Validation;
using Actionflow.Core.Domain;
using Actionflow.Core.Scheduling;
using Actionflow.Sdk;
using Actionflow.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Api.Endpoints;

/// <summary>Cron schedules as a builder shows them: a workflow's next fire times, and a preview of a trigger not saved yet.</summary>
public static class ScheduleEndpoints
{
    public const int DefaultCount = 5;
    public const int MaxCount = 100;
    private const string Tag = "Schedules";

    public static void MapScheduleEndpoints(this RouteGroupBuilder project)
    {
        project.MapGet("workflow/{workflow_id:long}/schedule", GetAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("GetWorkflowSchedule")
            .WithSummary("The next fire times of the workflow's time_trigger steps (count, 1-100, default 5), whether or not it is active.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        project.MapPost("actions/schedule/preview", Preview).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("PreviewSchedule")
            .WithSummary("The next fire times of a trigger_data not saved yet; an invalid cron_expression or time_zone is a 400 naming the field.");
    }

    private static async Task<Results<Ok<WorkflowScheduleResponse>, ValidationProblem, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "workflow_id")] long workflowId, int? count, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var n = Count(count, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var workflow = await db.Workflows.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowId && w.ProjectId == project.Id, cancellationToken);
        if (workflow is null)
        {
            return Problems.NotFound("Workflow", workflowId);
        }

        var steps = await db.Actions.AsNoTracking()
            .Where(a => a.WorkflowId == workflowId && !a.Archived)
            .OrderBy(a => a.Ordinal).ThenBy(a => a.Id)
            .ToListAsync(cancellationToken);
        var scheduled = await db.Schedules.AsNoTracking().Where(s => s.WorkflowId == workflowId).ToDictionaryAsync(s => s.ActionId, cancellationToken);
        var now = time.GetUtcNow();
        var result = new List<StepScheduleDto>();
        foreach (var step in steps.Where(s => s.TriggerEventName == EventKinds.TimeTrigger))
        {
            if (CronSchedule.FromTriggerData(step.TriggerData, out _) is not { } cron)
            {
                continue;
            }

            var catchUp = CatchUpSettings.FromTriggerData(step.TriggerData, out _)?.PolicyName ?? "once";
            var next = cron.Next(now, n);
            scheduled.TryGetValue(step.Id, out var row);
            result.Add(new StepScheduleDto(step.Id, cron.Expression, cron.TimeZoneId, catchUp, row is not null,
                [.. next.Select(t => t.UtcDateTime)], [.. next.Select(Local)], row is null ? null : LastFireDto.From(row)));
        }

        var merged = result.SelectMany(r => r.NextFireTimes).Order().Take(n).ToList();
        return TypedResults.Ok(new WorkflowScheduleResponse(workflowId, workflow.Active && !workflow.Archived, merged, result));
    }

    private static Results<Ok<SchedulePreviewResponse>, ValidationProblem> Preview(SchedulePreviewRequest request, TimeProvider time)
    {
        var errors = new FieldErrors();
        var n = Count(request.Count, errors);
        var trigger = request.TriggerData ?? [];
        TemplateRules.Time(trigger, EventKinds.TimeTrigger, complete: true, errors, "trigger_data");
        var cron = CronSchedule.FromTriggerData(trigger, out _);
        if (errors.Any || cron is null)
        {
            return errors.ToProblem();
        }

        var next = cron.Next(time.GetUtcNow(), n);
        return TypedResults.Ok(new SchedulePreviewResponse(cron.Expression, cron.TimeZoneId, [.. next.Select(t => t.UtcDateTime)], [.. next.Select(Local)]));
    }

    private static int Count(int? count, FieldErrors errors)
    {
        if (count is < 1 or > MaxCount)
        {
            errors.Add("count", $"must be from 1 to {MaxCount}");
        }

        return count ?? DefaultCount;
    }

    private static string Local(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
}
