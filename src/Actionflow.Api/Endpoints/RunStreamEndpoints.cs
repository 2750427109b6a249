using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Core.Domain;
using Actionflow.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actionflow.Api.Endpoints;

/// <summary>
/// Server-sent events of workflow-run changes. Each open stream polls the database itself (so it sees what every
/// worker process writes, whichever process serves the stream), with indexed lookups, only while someone listens:
/// the engine does no extra work per event for it.
/// </summary>
public static class RunStreamEndpoints
{
    public const string ReadyEvent = "ready";
    public const string RunEvent = "workflow_run";
    public const string PingEvent = "ping";
    private static readonly TimeSpan Overlap = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(15);

    public static void MapRunStreamEndpoints(this RouteGroupBuilder project)
    {
        project.MapGet("workflow-runs/stream", Stream).Requires(ApiKeyRole.Viewer).WithTags("Workflow runs")
            .WithName("StreamWorkflowRuns")
            .WithSummary("Server-sent events (text/event-stream): 'ready' once, then a 'workflow_run' event (a workflow run as JSON) whenever a run in scope " +
                "is created or changes, and 'ping' every 15 s. Scope: workflow_run_id (that run, with each step and attempt: every step change is sent), " +
                "else workflow_id, else the whole project (run status changes).")
            .Produces<WorkflowRunDto>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static Results<ServerSentEventsResult<WorkflowRunDto?>, ProblemHttpResult> Stream(
        [FromQuery(Name = "workflow_id")] long? workflowId, [FromQuery(Name = "workflow_run_id")] long? workflowRunId, ProjectContext project,
        IDbContextFactory<ActionflowDbContext> contexts, IOptions<ApiOptions> options, TimeProvider time, ILoggerFactory loggers, HttpContext http)
    {
        // Stop proxies and the response compression from holding events back.
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        var interval = options.Value.RunStreamPollInterval;
        var logger = loggers.CreateLogger(typeof(RunStreamEndpoints).FullName!);
        var items = workflowRunId is { } id
            ? OneRunAsync(contexts, project.Id, id, interval, time, logger, http.RequestAborted)
            : RunsAsync(contexts, project.Id, workflowId, interval, time, logger, http.RequestAborted);
        return TypedResults.ServerSentEvents(items);
    }

    private static async IAsyncEnumerable<SseItem<WorkflowRunDto?>> OneRunAsync(
        IDbContextFactory<ActionflowDbContext> contexts, long projectId, long workflowRunId, TimeSpan interval, TimeProvider time, ILogger logger,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return new SseItem<WorkflowRunDto?>(null, ReadyEvent);
        string? last = null;
        var changes = 0;
        var lastSent = time.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            WorkflowRunDto? run = null;
            string? signature = null;
            try
            {
                await using var db = await contexts.CreateDbContextAsync(cancellationToken);
                signature = await SignatureAsync(db, projectId, workflowRunId, cancellationToken);
                if (signature is not null && signature != last)
                {
                    run = await WorkflowRunEndpoints.LoadAsync(db, projectId, workflowRunId, cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }

            if (run is not null)
            {
                last = signature;
                changes++;
                lastSent = time.GetTimestamp();
                yield return new SseItem<WorkflowRunDto?>(run, RunEvent);
            }
            else if (time.GetElapsedTime(lastSent) >= PingEvery)
            {
                lastSent = time.GetTimestamp();
                yield return new SseItem<WorkflowRunDto?>(null, PingEvent);
            }

            if (!await DelayAsync(interval, time, cancellationToken))
            {
                break;
            }
        }

        Log.StreamClosed(logger, projectId, changes);
    }

    /// <summary>What changes when any step of the run changes: its status and each step's status, attempt and end.</summary>
    private static async Task<string?> SignatureAsync(ActionflowDbContext db, long projectId, long workflowRunId, CancellationToken cancellationToken)
    {
        var run = await db.WorkflowRuns.AsNoTracking().Where(w => w.Id == workflowRunId && w.ProjectId == projectId)
            .Select(w => new { w.Status, w.TimeUpdated }).FirstOrDefaultAsync(cancellationToken);
        if (run is null)
        {
            return null;
        }

        var steps = await db.ActionRuns.AsNoTracking().Where(a => a.WorkflowRunId == workflowRunId)
            .Select(a => new { a.Id, a.Status, a.Attempt, a.FinishedAt, a.NextAttemptAt }).ToListAsync(cancellationToken);
        return string.Join(';', steps.OrderBy(s => s.Id).Select(s => $"{s.Id}:{s.Status}:{s.Attempt}:{s.FinishedAt?.Ticks}:{s.NextAttemptAt?.Ticks}"))
            + $"|{run.Status}:{run.TimeUpdated.Ticks}";
    }

    private static async IAsyncEnumerable<SseItem<WorkflowRunDto?>> RunsAsync(
        IDbContextFactory<ActionflowDbContext> contexts, long projectId, long? workflowId, TimeSpan interval, TimeProvider time, ILogger logger,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long lastId;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            lastId = await db.WorkflowRuns.AsNoTracking().MaxAsync(w => (long?)w.Id, cancellationToken) ?? 0;
        }

        yield return new SseItem<WorkflowRunDto?>(null, ReadyEvent);
        // Runs already sent, with the state sent: a run updated inside the overlap window is not sent twice.
        var sent = new Dictionary<long, (WorkflowRunStatus Status, DateTime Updated)>();
        var since = time.GetUtcNow().UtcDateTime;
        var changes = 0;
        var lastSent = time.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            var pollStarted = time.GetUtcNow().UtcDateTime;
            List<WorkflowRunDto> changed;
            try
            {
                changed = await ChangedAsync(contexts, projectId, workflowId, lastId, since - Overlap, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            foreach (var run in changed)
            {
                lastId = Math.Max(lastId, run.Id);
                if (sent.TryGetValue(run.Id, out var before) && before == (run.Status, run.TimeUpdated))
                {
                    continue;
                }

                sent[run.Id] = (run.Status, run.TimeUpdated);
                changes++;
                lastSent = time.GetTimestamp();
                yield return new SseItem<WorkflowRunDto?>(run, RunEvent);
            }

            since = pollStarted;
            foreach (var old in sent.Where(s => s.Value.Updated < since - Overlap - Overlap).Select(s => s.Key).ToList())
            {
                sent.Remove(old);
            }

            if (time.GetElapsedTime(lastSent) >= PingEvery)
            {
                lastSent = time.GetTimestamp();
                yield return new SseItem<WorkflowRunDto?>(null, PingEvent);
            }

            if (!await DelayAsync(interval, time, cancellationToken))
            {
                break;
            }
        }

        Log.StreamClosed(logger, projectId, changes);
    }

    private static async Task<List<WorkflowRunDto>> ChangedAsync(
        IDbContextFactory<ActionflowDbContext> contexts, long projectId, long? workflowId, long afterId, DateTime updatedSince, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.WorkflowRuns.AsNoTracking().Where(w => w.ProjectId == projectId && (w.Id > afterId || w.TimeUpdated >= updatedSince));
        if (workflowId is { } wid)
        {
            query = query.Where(w => w.WorkflowId == wid);
        }

        var runs = await query.OrderBy(w => w.Id).Take(200).ToListAsync(cancellationToken);
        var ids = runs.Select(r => r.Id).ToList();
        var steps = (await db.ActionRuns.AsNoTracking().Where(a => ids.Contains(a.WorkflowRunId)).ToListAsync(cancellationToken)).ToLookup(a => a.WorkflowRunId);
        return runs.Select(r => WorkflowRunDto.From(r, steps[r.Id])).ToList();
    }

    private static async Task<bool> DelayAsync(TimeSpan interval, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(interval, time, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
