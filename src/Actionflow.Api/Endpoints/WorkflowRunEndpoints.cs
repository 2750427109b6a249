using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Actionflow.Api.Endpoints;

/// <summary>One workflow run: read it, re-run its failed steps, cancel it.</summary>
public static class WorkflowRunEndpoints
{
    private const string Tag = "Workflow runs";
    private const string CanceledReason = "canceled through the API";

    public static void MapWorkflowRunEndpoints(this RouteGroupBuilder project)
    {
        project.MapGet("workflow-runs/{workflow_run_id:long}", GetAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("GetWorkflowRun").WithSummary("A workflow run with each action run: status, attempts (each one's outcome), timings, output, error reason.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        project.MapPost("workflow-runs/{workflow_run_id:long}/retry", RetryAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("RetryWorkflowRun").WithSummary("Run the failed steps of a failed workflow run again (only those), with their current definitions.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        project.MapPost("workflow-runs/{workflow_run_id:long}/cancel", CancelAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("CancelWorkflowRun").WithSummary("Cancel a workflow run: its pending, running and retrying steps become canceled and nothing more of it runs.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static async Task<Results<Ok<WorkflowRunResponse>, ProblemHttpResult>> GetAsync(
        [FromRoute(Name = "workflow_run_id")] long workflowRunId, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts,
        CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var dto = await LoadAsync(db, project.Id, workflowRunId, cancellationToken);
        return dto is null ? Problems.NotFound("Workflow run", workflowRunId) : TypedResults.Ok(new WorkflowRunResponse(dto));
    }

    private static async Task<Results<Accepted<WorkflowRunResponse>, ProblemHttpResult>> RetryAsync(
        [FromRoute(Name = "workflow_run_id")] long workflowRunId, ProjectContext project, IRunControl control, IDbContextFactory<ActionflowDbContext> contexts,
        TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var result = await control.RetryWorkflowRunAsync(project.Id, workflowRunId, time.GetUtcNow().UtcDateTime, cancellationToken);
        switch (result.Outcome)
        {
            case RunControlOutcome.NotFound:
                return Problems.NotFound("Workflow run", workflowRunId);
            case RunControlOutcome.Refused:
                return Problems.Conflict($"Workflow run {workflowRunId} cannot be retried: {result.Refusal}.");
        }

        Log.RunRetried(loggers.CreateLogger(typeof(WorkflowRunEndpoints).FullName!), workflowRunId, result.Changed);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return TypedResults.Accepted((string?)null, new WorkflowRunResponse((await LoadAsync(db, project.Id, workflowRunId, cancellationToken))!));
    }

    private static async Task<Results<Ok<WorkflowRunResponse>, ProblemHttpResult>> CancelAsync(
        [FromRoute(Name = "workflow_run_id")] long workflowRunId, ProjectContext project, IRunControl control, IDbContextFactory<ActionflowDbContext> contexts,
        TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var result = await control.CancelWorkflowRunAsync(project.Id, workflowRunId, CanceledReason, time.GetUtcNow().UtcDateTime, cancellationToken);
        switch (result.Outcome)
        {
            case RunControlOutcome.NotFound:
                return Problems.NotFound("Workflow run", workflowRunId);
            case RunControlOutcome.Refused:
                return Problems.Conflict($"Workflow run {workflowRunId} cannot be canceled: {result.Refusal}.");
        }

        Log.RunCanceled(loggers.CreateLogger(typeof(WorkflowRunEndpoints).FullName!), workflowRunId, result.Changed);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return TypedResults.Ok(new WorkflowRunResponse((await LoadAsync(db, project.Id, workflowRunId, cancellationToken))!));
    }

    internal static async Task<WorkflowRunDto?> LoadAsync(ActionflowDbContext db, long projectId, long workflowRunId, CancellationToken cancellationToken)
    {
        var run = await db.WorkflowRuns.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowRunId && w.ProjectId == projectId, cancellationToken);
        if (run is null)
        {
            return null;
        }

        var steps = await db.ActionRuns.AsNoTracking().Where(r => r.WorkflowRunId == workflowRunId).ToListAsync(cancellationToken);
        var ids = steps.Select(s => s.Id).ToList();
        var attempts = (await db.ActionRunAttempts.AsNoTracking().Where(a => ids.Contains(a.ActionRunId)).ToListAsync(cancellationToken))
            .ToLookup(a => a.ActionRunId);
        return WorkflowRunDto.From(run, steps, attempts);
    }
}
