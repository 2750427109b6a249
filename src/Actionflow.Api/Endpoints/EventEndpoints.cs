using Actionflow.Api.Auth;
using Actionflow.Api.Contracts;
using Actionflow.Api.Errors;
using Actionflow.Api.Validation;
using Actionflow.Core.Domain;
using Actionflow.Core.Engine;
using Actionflow.Core.Json;
using Actionflow.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Api.Endpoints;

/// <summary>Emitting and listing events (Actionflow's own routes).</summary>
public static class EventEndpoints
{
    private const string Tag = "Events";
    private const int MaxKind = 200;
    private const int MaxIdempotencyKey = 200;

    public static void MapEventEndpoints(this RouteGroupBuilder project)
    {
        project.MapPost("events", EmitAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("EmitEvent")
            .WithSummary("Emit an event: it is recorded with the runs of the steps it starts before the 202; the worker that answered then runs them.");
        project.MapGet("events", ListAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("ListEvents").WithSummary("The project's events, newest first; filter by kind and by time (since, ISO 8601).");
    }

    private static async Task<Results<Accepted<EventAcceptedResponse>, ValidationProblem>> EmitAsync(
        EmitEventRequest request, ProjectContext project, DetachedChains chains, Definitions definitions, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var kind = request.Kind?.Trim();
        if (string.IsNullOrEmpty(kind))
        {
            errors.Add("kind", "is required");
        }
        else if (kind.Length > MaxKind)
        {
            errors.Add("kind", $"must be at most {MaxKind} characters");
        }

        foreach (var (field, value) in new (string, long?)[]
                 {
                     ("workflow_id", request.WorkflowId), ("action_id", request.ActionId), ("file_id", request.FileId), ("task_id", request.TaskId),
                     ("job_id", request.JobId), ("directory_id", request.DirectoryId), ("input_id", request.InputId), ("member_id", request.MemberId),
                 })
        {
            if (value is <= 0)
            {
                errors.Add(field, "must be a positive integer or null");
            }
        }

        JsonDepth.Check(errors, "extra_metadata", request.ExtraMetadata);
        if (request.IdempotencyKey is { } key && (key.Length == 0 || key.Length > MaxIdempotencyKey))
        {
            errors.Add("idempotency_key", $"must be 1 to {MaxIdempotencyKey} characters");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var ev = new Event
        {
            Kind = kind!,
            ProjectId = project.Id,
            WorkflowId = request.WorkflowId,
            ActionId = request.ActionId,
            FileId = request.FileId,
            TaskId = request.TaskId,
            JobId = request.JobId,
            DirectoryId = request.DirectoryId,
            InputId = request.InputId,
            MemberId = request.MemberId,
            Description = request.Description,
            ExtraMetadata = request.ExtraMetadata is null ? [] : (System.Text.Json.Nodes.JsonObject)request.ExtraMetadata.DeepClone(),
            Source = "api",
            DedupKey = request.IdempotencyKey is null ? null : EventDto.IdempotencyPrefix + request.IdempotencyKey,
            TimeCreated = time.GetUtcNow().UtcDateTime,
            Payload = JsonNodes.EmptyObject(),
        };
        // Match against the definitions committed by now, even if another process changed them a moment ago.
        await definitions.RefreshAsync(cancellationToken);
        var result = await chains.IngestAsync(ev, cancellationToken);
        return TypedResults.Accepted((string?)null, new EventAcceptedResponse(EventDto.From(result.Event), result.TriggeredSteps, !result.Inserted));
    }

    private static async Task<Results<Ok<EventListResponse>, ValidationProblem>> ListAsync(
        string? kind, DateTimeOffset? since, int? page, [FromQuery(Name = "page_size")] int? pageSize, ProjectContext project,
        IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var paging = Paging.Read(page, pageSize, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.Events.AsNoTracking().Where(e => e.ProjectId == project.Id);
        if (!string.IsNullOrEmpty(kind))
        {
            query = query.Where(e => e.Kind == kind);
        }

        if (since is { } from)
        {
            var utc = from.UtcDateTime;
            query = query.Where(e => e.TimeCreated >= utc);
        }

        var events = await query.OrderByDescending(e => e.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        return TypedResults.Ok(new EventListResponse(events.Select(EventDto.From).ToList()));
    }
}
