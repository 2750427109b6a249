using System.Globalization;
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

/// <summary>
/// Reads that a person's overview needs (the console uses them, and so can any script): who am I, which projects,
/// workflows with their latest run, run search with paging, run counts over time.
/// </summary>
public static class OverviewEndpoints
{
    private const string Tag = "Overview";
    private const int MaxBuckets = 1000;
    private static readonly string[] States = ["all", "active", "inactive", "archived"];

    public static void MapInstallationEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("whoami", WhoAmIAsync).WithTags(Tag)
            .WithName("WhoAmI").WithSummary("What these credentials are: the installation admin token (or setup token), or an API key with its project and role.");
        api.MapGet("projects", ListProjectsAsync).AddEndpointFilter<InstallationAdminFilter>().WithTags(Tag)
            .WithName("ListProjects").WithSummary("Every project (installation admin token only).").ProducesProblem(StatusCodes.Status403Forbidden);
    }

    public static void MapOverviewEndpoints(this RouteGroupBuilder project)
    {
        project.MapGet("workflows", ListWorkflowsAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("ListWorkflowSummaries")
            .WithSummary("Workflows with their step count, last run status and runs in the last 24 hours; state: all (default), active, inactive or archived.");
        project.MapGet("workflow-runs", SearchRunsAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("SearchWorkflowRuns")
            .WithSummary("Workflow runs, newest first, paged on the server, by workflow, status, root event id, file id (of the root event) and creation time (from inclusive, to exclusive).");
        project.MapGet("events/{event_id:long}", GetEventAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("GetEvent").WithSummary("One event: what started a run, or what a step received.").ProducesProblem(StatusCodes.Status404NotFound);
        project.MapGet("workflow-runs/counts", CountRunsAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("CountWorkflowRuns")
            .WithSummary("Workflow runs started per hour or day, by status, from (default 24 h ago) to (default now).");
    }

    private static async Task<Ok<WhoAmIResponse>> WhoAmIAsync(HttpContext http, IDbContextFactory<ActionflowDbContext> contexts, AdminToken adminToken, CancellationToken cancellationToken)
    {
        var user = http.User;
        if (user.IsInstallationAdmin())
        {
            var header = http.Request.Headers.Authorization.ToString();
            var setup = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && adminToken.IsSetupToken(header[7..].Trim());
            return TypedResults.Ok(new WhoAmIResponse(true, setup, null, null, null));
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var projectId = user.ProjectId();
        var project = await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.Id == projectId, cancellationToken);
        return TypedResults.Ok(new WhoAmIResponse(false, false, project is null ? null : ProjectDto.From(project),
            user.Role()?.ToString().ToLowerInvariant(), user.FindFirst(ApiPrincipal.ClientIdClaim)?.Value));
    }

    private static async Task<Ok<ProjectListResponse>> ListProjectsAsync(IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var projects = await db.Projects.AsNoTracking().OrderBy(p => p.Id).Take(1000).ToListAsync(cancellationToken);
        return TypedResults.Ok(new ProjectListResponse(projects.Select(ProjectDto.From).ToList()));
    }

    private static async Task<Results<Ok<WorkflowSummaryListResponse>, ValidationProblem>> ListWorkflowsAsync(
        string? state, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, TimeProvider time, CancellationToken cancellationToken)
    {
        state = string.IsNullOrEmpty(state) ? "all" : state.ToLowerInvariant();
        if (!States.Contains(state))
        {
            return FieldErrors.One("state", $"'{state}' is not a state; use {string.Join(", ", States)}");
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.Workflows.AsNoTracking().Where(w => w.ProjectId == project.Id);
        query = state switch
        {
            "active" => query.Where(w => w.Active && !w.Archived),
            "inactive" => query.Where(w => !w.Active && !w.Archived),
            "archived" => query.Where(w => w.Archived),
            _ => query,
        };
        var workflows = await query.OrderBy(w => w.Id).Take(1000).ToListAsync(cancellationToken);
        var ids = workflows.Select(w => w.Id).ToList();
        var since = time.GetUtcNow().UtcDateTime.AddHours(-24);
        var steps = await db.Actions.AsNoTracking().Where(a => ids.Contains(a.WorkflowId) && !a.Archived)
            .GroupBy(a => a.WorkflowId).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        var recent = await db.WorkflowRuns.AsNoTracking().Where(r => ids.Contains(r.WorkflowId) && r.TimeCreated >= since)
            .GroupBy(r => r.WorkflowId).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        var lastIds = await db.WorkflowRuns.AsNoTracking().Where(r => ids.Contains(r.WorkflowId))
            .GroupBy(r => r.WorkflowId).Select(g => g.Max(r => r.Id)).ToListAsync(cancellationToken);
        var last = await db.WorkflowRuns.AsNoTracking().Where(r => lastIds.Contains(r.Id)).ToDictionaryAsync(r => r.WorkflowId, cancellationToken);
        return TypedResults.Ok(new WorkflowSummaryListResponse(workflows.Select(w => new WorkflowSummaryDto(
            w.Id, w.StringId, w.Name, w.Active, w.Archived, w.TimeCreated, w.TimeUpdated,
            steps.GetValueOrDefault(w.Id), last.GetValueOrDefault(w.Id)?.Status, last.GetValueOrDefault(w.Id)?.TimeCreated, recent.GetValueOrDefault(w.Id))).ToList()));
    }

    private static async Task<Results<Ok<EventResponse>, ProblemHttpResult>> GetEventAsync(
        [FromRoute(Name = "event_id")] long eventId, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var found = await db.Events.AsNoTracking().FirstOrDefaultAsync(e => e.Id == eventId && e.ProjectId == project.Id, cancellationToken);
        return found is null ? Problems.NotFound("Event", eventId) : TypedResults.Ok(new EventResponse(EventDto.From(found)));
    }

    private static async Task<Results<Ok<WorkflowRunPageResponse>, ValidationProblem>> SearchRunsAsync(
        [FromQuery(Name = "workflow_id")] long? workflowId, string? status, [FromQuery(Name = "event_id")] long? eventId, [FromQuery(Name = "file_id")] long? fileId,
        DateTimeOffset? from, DateTimeOffset? to, int? page, [FromQuery(Name = "page_size")] int? pageSize, ProjectContext project,
        IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var paging = Paging.Read(page, pageSize, errors);
        var statuses = ReadStatuses(status, errors);
        if (from is { } f && to is { } t && t <= f)
        {
            errors.Add("to", "must be after from");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.WorkflowRuns.AsNoTracking().Where(r => r.ProjectId == project.Id);
        if (workflowId is { } wid)
        {
            query = query.Where(r => r.WorkflowId == wid);
        }

        if (statuses.Count > 0)
        {
            query = query.Where(r => statuses.Contains(r.Status));
        }

        if (eventId is { } eid)
        {
            // The root event, or any event a step of the run received.
            query = query.Where(r => r.RootEventId == eid || db.ActionRuns.Any(a => a.WorkflowRunId == r.Id && a.EventId == eid));
        }

        if (fileId is { } file)
        {
            query = query.Where(r => db.Events.Any(e => e.Id == r.RootEventId && e.FileId == file));
        }

        if (from is { } start)
        {
            var utc = start.UtcDateTime;
            query = query.Where(r => r.TimeCreated >= utc);
        }

        if (to is { } end)
        {
            var utc = end.UtcDateTime;
            query = query.Where(r => r.TimeCreated < utc);
        }

        var total = await query.CountAsync(cancellationToken);
        var runs = await query.OrderByDescending(r => r.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        var ids = runs.Select(r => r.Id).ToList();
        var steps = (await db.ActionRuns.AsNoTracking().Where(a => ids.Contains(a.WorkflowRunId)).ToListAsync(cancellationToken)).ToLookup(a => a.WorkflowRunId);
        return TypedResults.Ok(new WorkflowRunPageResponse(runs.Select(r => WorkflowRunDto.From(r, steps[r.Id])).ToList(), total, paging.Page, paging.PageSize));
    }

    private static async Task<Results<Ok<RunCountsResponse>, ValidationProblem>> CountRunsAsync(
        [FromQuery(Name = "workflow_id")] long? workflowId, DateTimeOffset? from, DateTimeOffset? to, string? bucket, ProjectContext project,
        IDbContextFactory<ActionflowDbContext> contexts, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        bucket = string.IsNullOrEmpty(bucket) ? "hour" : bucket.ToLowerInvariant();
        var step = bucket switch { "hour" => TimeSpan.FromHours(1), "day" => TimeSpan.FromDays(1), _ => TimeSpan.Zero };
        if (step == TimeSpan.Zero)
        {
            errors.Add("bucket", $"'{bucket}' is not a bucket; use hour or day");
            step = TimeSpan.FromHours(1);
        }

        var end = (to ?? time.GetUtcNow()).UtcDateTime;
        var start = Truncate((from ?? (to ?? time.GetUtcNow()).AddHours(-24)).UtcDateTime, step);
        if (end <= start)
        {
            errors.Add("to", "must be after from");
        }
        else if ((end - start) / step > MaxBuckets)
        {
            errors.Add("from", string.Create(CultureInfo.InvariantCulture, $"the range holds more than {MaxBuckets} {bucket}s; narrow it or use a larger bucket"));
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.WorkflowRuns.AsNoTracking().Where(r => r.ProjectId == project.Id && r.TimeCreated >= start && r.TimeCreated < end);
        if (workflowId is { } wid)
        {
            query = query.Where(r => r.WorkflowId == wid);
        }

        // Two narrow columns per run, grouped here: the SQL for truncating a timestamp differs per provider.
        var rows = await query.Select(r => new { r.TimeCreated, r.Status }).ToListAsync(cancellationToken);
        var counts = rows.GroupBy(r => (long)((r.TimeCreated - start) / step))
            .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, int>)g.GroupBy(r => Name(r.Status)).ToDictionary(s => s.Key, s => s.Count(), StringComparer.Ordinal));
        var buckets = new List<RunCountBucketDto>();
        for (var (i, at) = (0L, start); at < end; i++, at += step)
        {
            buckets.Add(new RunCountBucketDto(at, counts.GetValueOrDefault(i) ?? new Dictionary<string, int>()));
        }

        return TypedResults.Ok(new RunCountsResponse(start, end, bucket, buckets));
    }

    private static List<WorkflowRunStatus> ReadStatuses(string? value, FieldErrors errors)
    {
        var result = new List<WorkflowRunStatus>();
        foreach (var part in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Enum.TryParse<WorkflowRunStatus>(part, ignoreCase: true, out var s) && Enum.IsDefined(s) && !int.TryParse(part, out _))
            {
                result.Add(s);
            }
            else
            {
                errors.Add("status", $"'{part}' is not a status; use running, succeeded, failed, skipped or canceled (comma-separated)");
            }
        }

        return result;
    }

    private static string Name(WorkflowRunStatus status) => status.ToString().ToLowerInvariant();

    private static DateTime Truncate(DateTime at, TimeSpan step) => new(at.Ticks - (at.Ticks % step.Ticks), DateTimeKind.Utc);
}
