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
        [FromRoute(Name = "workflow_run_id")] long workflowRunId, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts,
        IOutboxSignal signal, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var run = await db.WorkflowRuns.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowRunId && w.ProjectId == project.Id, cancellationToken);
        if (run is null)
        {
            return Problems.NotFound("Workflow run", workflowRunId);
        }

        var now = time.GetUtcNow().UtcDateTime;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            // The status check in the WHERE makes a concurrent second retry (or a cancel) find nothing to do.
            var reopened = await db.WorkflowRuns
                .Where(w => w.Id == workflowRunId && w.Status == WorkflowRunStatus.Failed)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowRunStatus.Running).SetProperty(w => w.TimeUpdated, now), cancellationToken);
            var failed = reopened == 0
                ? []
                : await db.ActionRuns.AsNoTracking().Where(r => r.WorkflowRunId == workflowRunId && r.Status == ActionRunStatus.Failed).ToListAsync(cancellationToken);
            if (failed.Count == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return Problems.Conflict($"Workflow run {workflowRunId} is {Describe(run.Status)} with no failed step to retry.");
            }

            var ids = failed.Select(r => r.Id).ToList();
            await db.ActionRuns
                .Where(r => ids.Contains(r.Id) && r.Status == ActionRunStatus.Failed)
                .ExecuteUpdateAsync(
                    s => s.SetProperty(r => r.Status, ActionRunStatus.Pending)
                        .SetProperty(r => r.Output, (System.Text.Json.Nodes.JsonObject?)null)
                        .SetProperty(r => r.ErrorReason, (string?)null)
                        .SetProperty(r => r.ErrorType, (string?)null)
                        .SetProperty(r => r.FinishedAt, (DateTime?)null)
                        .SetProperty(r => r.LeaseUntil, (DateTime?)null)
                        .SetProperty(r => r.NextAttemptAt, (DateTime?)null)
                        .SetProperty(r => r.WorkerId, (string?)null),
                    cancellationToken);
            foreach (var step in failed)
            {
                db.OutboxMessages.Add(new TriggerMessage(step.EventId, step.ActionId, step.ProjectId, step.Id).ToOutbox(now));
            }

            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Log.RunRetried(loggers.CreateLogger(typeof(WorkflowRunEndpoints).FullName!), workflowRunId, failed.Count);
        }

        signal.Notify(QueueNames.ActionTriggers);
        return TypedResults.Accepted((string?)null, new WorkflowRunResponse((await LoadAsync(db, project.Id, workflowRunId, cancellationToken))!));
    }

    private static async Task<Results<Ok<WorkflowRunResponse>, ProblemHttpResult>> CancelAsync(
        [FromRoute(Name = "workflow_run_id")] long workflowRunId, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts,
        TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var run = await db.WorkflowRuns.AsNoTracking().FirstOrDefaultAsync(w => w.Id == workflowRunId && w.ProjectId == project.Id, cancellationToken);
        if (run is null)
        {
            return Problems.NotFound("Workflow run", workflowRunId);
        }

        var now = time.GetUtcNow().UtcDateTime;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            var closed = await db.WorkflowRuns
                .Where(w => w.Id == workflowRunId && (w.Status == WorkflowRunStatus.Running || w.Status == WorkflowRunStatus.Failed))
                .ExecuteUpdateAsync(
                    s => s.SetProperty(w => w.Status, WorkflowRunStatus.Canceled)
                        .SetProperty(w => w.StatusDescription, CanceledReason)
                        .SetProperty(w => w.TimeUpdated, now),
                    cancellationToken);
            if (closed == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return Problems.Conflict($"Workflow run {workflowRunId} already ended ({Describe(run.Status)}).");
            }

            // A running step's worker finds its run canceled when it tries to record the result, and discards it.
            var canceled = await db.ActionRuns
                .Where(r => r.WorkflowRunId == workflowRunId
                    && (r.Status == ActionRunStatus.Pending || r.Status == ActionRunStatus.Running || r.Status == ActionRunStatus.Retrying))
                .ExecuteUpdateAsync(
                    s => s.SetProperty(r => r.Status, ActionRunStatus.Canceled)
                        .SetProperty(r => r.ErrorReason, CanceledReason)
                        .SetProperty(r => r.FinishedAt, now)
                        .SetProperty(r => r.LeaseUntil, (DateTime?)null)
                        .SetProperty(r => r.NextAttemptAt, (DateTime?)null),
                    cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Log.RunCanceled(loggers.CreateLogger(typeof(WorkflowRunEndpoints).FullName!), workflowRunId, canceled);
        }

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

    private static string Describe(WorkflowRunStatus status) => status.ToString().ToLowerInvariant();
}
