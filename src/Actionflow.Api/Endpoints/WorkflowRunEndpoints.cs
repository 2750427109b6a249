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
        project.MapPost("workflow-runs/{workflow_run_id:long}/rerun", RerunAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("RerunWorkflowRun")
            .WithSummary("Run a step of an ended workflow run again (with the input its last run had, or the one given as extra_metadata) and the steps after it, as a new attempt; earlier runs stay.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem();
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

    private static async Task<Results<Accepted<WorkflowRunRerunResponse>, ValidationProblem, ProblemHttpResult>> RerunAsync(
        [FromRoute(Name = "workflow_run_id")] long workflowRunId, RerunRequest request, ProjectContext project, IRunControl control,
        IDbContextFactory<ActionflowDbContext> contexts, TimeProvider time, CancellationToken cancellationToken)
    {
        if (request.FromActionId is not { } fromActionId)
        {
            return FieldErrors.One("from_action_id", "is required: the step to run again");
        }

        var result = await control.RerunFromAsync(project.Id, workflowRunId, fromActionId, request.Input, time.GetUtcNow().UtcDateTime, cancellationToken);
        switch (result.Outcome)
        {
            case RunControlOutcome.NotFound:
                return Problems.NotFound("Workflow run", workflowRunId);
            case RunControlOutcome.Refused when result.RefusedField is { } field:
                return FieldErrors.One(field, result.Refusal!);
            case RunControlOutcome.Refused:
                return Problems.Conflict($"Workflow run {workflowRunId} cannot be rerun: {result.Refusal}.");
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return TypedResults.Accepted((string?)null,
            new WorkflowRunRerunResponse((await LoadAsync(db, project.Id, workflowRunId, cancellationToken))!, result.RunId!.Value, result.Attempt));
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
        var rerunKeys = Storage.Stores.RunControlStore.RerunKey(workflowRunId, 0)[..^1];
        var reruns = await db.Events.AsNoTracking()
            .Where(e => e.ProjectId == projectId && e.WorkflowRunId == workflowRunId && e.DedupKey != null && e.DedupKey.StartsWith(rerunKeys))
            .OrderBy(e => e.Id).Select(e => e.Id)
            .ToListAsync(cancellationToken);
        return WorkflowRunDto.From(run, steps, attempts, reruns);
    }
}
