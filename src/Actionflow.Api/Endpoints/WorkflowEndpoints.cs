using System.Security.Cryptography;
using System.Text;
using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Api.Validation;
using Actionflow.Core.Domain;
using Actionflow.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Api.Endpoints;

/// <summary>Diffgram's workflow routes (1–5).</summary>
public static class WorkflowEndpoints
{
    /// <summary>Diffgram's <c>TIME_WINDOW_SECONDS_MAPPER</c> keys.</summary>
    public static readonly IReadOnlySet<string> TimeWindows = new HashSet<string>(StringComparer.Ordinal)
    {
        "1_minute", "5_minutes", "10_minutes", "30_minutes", "1_hours", "4_hours", "12_hours", "1_days",
    };

    private const string Tag = "Workflows (Diffgram)";
    private const int MaxName = 300;

    public static void MapWorkflowEndpoints(this RouteGroupBuilder project)
    {
        project.MapPost("actions/workflow/new", CreateAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("CreateWorkflow").WithSummary("Create a workflow (inactive).");
        project.MapGet("workflow/{workflow_id:long}", GetAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("GetWorkflow").WithSummary("A workflow with its steps (actions_list, by ordinal).").ProducesProblem(StatusCodes.Status404NotFound);
        project.MapPost("action/flow/list", ListAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("ListWorkflows").WithSummary("The project's workflows that are not archived, oldest first.");
        project.MapPost("action/workflow-run/list", ListRunsAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("ListWorkflowRuns").WithSummary("A workflow's runs, newest first, every status, each with its action runs.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        project.MapPut("actions/workflow/update", UpdateAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("UpdateWorkflow").WithSummary("Rename, activate or deactivate (mode UPDATE), or archive (mode ARCHIVE) a workflow.")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Results<Ok<WorkflowResponse>, ValidationProblem>> CreateAsync(
        CreateWorkflowRequest request, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            errors.Add("name", "is required");
        }
        else if (name.Length > MaxName)
        {
            errors.Add("name", $"must be at most {MaxName} characters");
        }

        CheckLegacyFields(request.TriggerType, request.TimeWindow, errors);
        Validation.FlowRules.WorkflowConcurrency(request.ConcurrencyLimit, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var now = time.GetUtcNow().UtcDateTime;
        var workflow = new Workflow
        {
            ProjectId = project.Id,
            Name = name!,
            StringId = NewStringId(name!),
            TriggerType = request.TriggerType,
            TimeWindow = EmptyToNull(request.TimeWindow),
            ConcurrencyLimit = request.ConcurrencyLimit,
            Active = false,
            TimeCreated = now,
            TimeUpdated = now,
        };
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.Workflows.Add(workflow);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(new WorkflowResponse(WorkflowDto.From(workflow)));
    }

    private static async Task<Results<Ok<WorkflowResponse>, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "workflow_id")] long workflowId, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, Definitions definitions,
        CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var workflow = await db.Workflows.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowId && w.ProjectId == project.Id, cancellationToken);
        if (workflow is null)
        {
            return Problems.NotFound("Workflow", workflowId);
        }

        return TypedResults.Ok(new WorkflowResponse(await WithStepsAsync(db, workflow, definitions, cancellationToken)));
    }

    private static async Task<Results<Ok<FlowListResponse>, ValidationProblem>> ListAsync(
        [FromBody] FlowListRequest? request, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        // Diffgram returned at most 100; the UI does not page.
        var paging = Paging.Read(request?.Page, request?.PageSize, errors, defaultPageSize: 100);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var workflows = await db.Workflows.AsNoTracking()
            .Where(w => w.ProjectId == project.Id && !w.Archived)
            .OrderBy(w => w.Id)
            .Skip(paging.Skip).Take(paging.PageSize)
            .ToListAsync(cancellationToken);
        var ids = workflows.Select(w => w.Id).ToList();
        var schedules = (await db.Schedules.AsNoTracking().Where(s => ids.Contains(s.WorkflowId)).ToListAsync(cancellationToken)).ToLookup(s => s.WorkflowId);
        return TypedResults.Ok(new FlowListResponse(workflows.Select(w => WorkflowDto.From(w, schedules: [.. schedules[w.Id]])).ToList()));
    }

    private static async Task<Results<Ok<WorkflowRunListResponse>, ValidationProblem, ProblemHttpResult>> ListRunsAsync(
        WorkflowRunListRequest request, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (request.FlowId is null)
        {
            errors.Add("flow_id", "is required");
        }

        var paging = Paging.Read(request.Page, request.PageSize, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var workflowId = request.FlowId!.Value;
        if (!await db.Workflows.AnyAsync(w => w.Id == workflowId && w.ProjectId == project.Id, cancellationToken))
        {
            return Problems.NotFound("Workflow", workflowId);
        }

        var runs = await db.WorkflowRuns.AsNoTracking()
            .Where(r => r.WorkflowId == workflowId && r.ProjectId == project.Id)
            .OrderByDescending(r => r.Id)
            .Skip(paging.Skip).Take(paging.PageSize)
            .ToListAsync(cancellationToken);
        var ids = runs.Select(r => r.Id).ToList();
        var actionRuns = (await db.ActionRuns.AsNoTracking().Where(r => ids.Contains(r.WorkflowRunId)).ToListAsync(cancellationToken))
            .ToLookup(r => r.WorkflowRunId);
        return TypedResults.Ok(new WorkflowRunListResponse(runs.Select(r => WorkflowRunDto.From(r, actionRuns[r.Id])).ToList()));
    }

    private static async Task<Results<Ok<WorkflowResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        UpdateWorkflowRequest request, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, Definitions definitions, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (request.WorkflowId is null)
        {
            errors.Add("workflow_id", "is required");
        }

        var mode = request.Mode?.Trim().ToUpperInvariant() ?? "UPDATE";
        if (mode is not ("UPDATE" or "ARCHIVE"))
        {
            errors.Add("mode", $"'{request.Mode}' is not a mode; use UPDATE or ARCHIVE");
        }

        var name = request.Name?.Trim();
        if (name is { Length: 0 })
        {
            errors.Add("name", "cannot be empty");
        }
        else if (name is { Length: > MaxName })
        {
            errors.Add("name", $"must be at most {MaxName} characters");
        }

        CheckLegacyFields(request.TriggerType, request.TimeWindow, errors);
        if (request.ConcurrencyLimit is not 0)
        {
            Validation.FlowRules.WorkflowConcurrency(request.ConcurrencyLimit, errors);
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var workflowId = request.WorkflowId!.Value;
        var workflow = await db.Workflows.FirstOrDefaultAsync(w => w.Id == workflowId && w.ProjectId == project.Id, cancellationToken);
        if (workflow is null)
        {
            return Problems.NotFound("Workflow", workflowId);
        }

        if (mode == "ARCHIVE")
        {
            workflow.Archived = true;
            workflow.Active = false;
        }
        else
        {
            workflow.Name = name ?? workflow.Name;
            workflow.TriggerType = request.TriggerType ?? workflow.TriggerType;
            workflow.TimeWindow = request.TimeWindow is null ? workflow.TimeWindow : EmptyToNull(request.TimeWindow);
            if (request.ConcurrencyLimit is { } limit)
            {
                workflow.ConcurrencyLimit = limit == 0 ? null : limit;
            }

            if (request.Active is { } active)
            {
                if (active && workflow.Archived)
                {
                    return FieldErrors.One("active", "an archived workflow cannot be activated");
                }

                if (active && !workflow.Active)
                {
                    await CheckStepsCompleteAsync(db, workflow, definitions, errors, cancellationToken);
                    if (errors.Any)
                    {
                        return errors.ToProblem();
                    }
                }

                workflow.Active = active;
            }
        }

        if (db.ChangeTracker.HasChanges())
        {
            workflow.TimeUpdated = time.GetUtcNow().UtcDateTime;
            // Activated, deactivated or archived: its schedules follow in the same transaction.
            await definitions.SaveAsync(db, workflow.Id, workflow.TimeUpdated, cancellationToken);
        }

        return TypedResults.Ok(new WorkflowResponse(await WithStepsAsync(db, workflow, definitions, cancellationToken)));
    }

    /// <summary>An active workflow's steps must be runnable: an available template and a complete config.</summary>
    private static async Task CheckStepsCompleteAsync(ActionflowDbContext db, Workflow workflow, Definitions definitions, FieldErrors errors, CancellationToken cancellationToken)
    {
        var steps = await db.Actions.AsNoTracking().Where(a => a.WorkflowId == workflow.Id && !a.Archived && a.Active).ToListAsync(cancellationToken);
        var kinds = steps.Select(s => s.Kind).Distinct().ToList();
        var templates = await db.ActionTemplates.AsNoTracking().Where(t => kinds.Contains(t.Kind)).ToDictionaryAsync(t => t.Kind, StringComparer.Ordinal, cancellationToken);
        foreach (var step in steps)
        {
            var prefix = $"actions.{step.Id}";
            if (!templates.TryGetValue(step.Kind, out var template) || !template.IsAvailable)
            {
                errors.Add($"{prefix}.kind", $"no worker runs actions of kind '{step.Kind}'");
                continue;
            }

            definitions.Validate(template, step.ConfigData, complete: true, errors, $"{prefix}.config_data");
            TemplateRules.Time(step.TriggerData, step.TriggerEventName, complete: true, errors, $"{prefix}.trigger_data");
        }
    }

    internal static async Task<WorkflowDto> WithStepsAsync(ActionflowDbContext db, Workflow workflow, Definitions definitions, CancellationToken cancellationToken)
    {
        var steps = await db.Actions.AsNoTracking()
            .Where(a => a.WorkflowId == workflow.Id && !a.Archived)
            .OrderBy(a => a.Ordinal).ThenBy(a => a.Id)
            .ToListAsync(cancellationToken);
        var schedules = await db.Schedules.AsNoTracking().Where(s => s.WorkflowId == workflow.Id).ToListAsync(cancellationToken);
        return WorkflowDto.From(workflow, await definitions.ToDtosAsync(db, steps, cancellationToken), schedules) with { Graph = WorkflowGraphDto.From(steps) };
    }

    private static void CheckLegacyFields(string? triggerType, string? timeWindow, FieldErrors errors)
    {
        if (triggerType is { Length: > 100 })
        {
            errors.Add("trigger_type", "must be at most 100 characters");
        }

        if (!string.IsNullOrEmpty(timeWindow) && !TimeWindows.Contains(timeWindow))
        {
            errors.Add("time_window", $"'{timeWindow}' is not a time window; use one of: {string.Join(", ", TimeWindows)}");
        }
    }

    private static string? EmptyToNull(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Diffgram's shape: up to 10 lower-case letters or digits of the name, '_', 20 random [a-z0-9].</summary>
    private static string NewStringId(string name)
    {
        var safe = new StringBuilder();
        foreach (var c in name.ToLowerInvariant())
        {
            if (char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
            {
                safe.Append(c);
                if (safe.Length == 10)
                {
                    break;
                }
            }
        }

        return safe + "_" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 20);
    }
}
