using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Actionflow.Api.Auth;
using Actionflow.Api.Errors;
using Actionflow.Api.Validation;
using Actionflow.Core.Abstractions;
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

public sealed record DeadLetterDto(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("project_id")] long? ProjectId,
    [property: JsonPropertyName("queue")] string Queue,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("exception_type")] string? ExceptionType,
    [property: JsonPropertyName("deliveries")] int Deliveries,
    [property: JsonPropertyName("headers")] JsonNode? Headers,
    [property: JsonPropertyName("body")] JsonNode? Body,
    [property: JsonPropertyName("time_created")] DateTime TimeCreated)
{
    public static DeadLetterDto From(DeadLetter d) => new(d.Id, d.ProjectId, d.Queue, d.Reason, d.ExceptionType, d.Deliveries,
        HeadersOf(d.Headers), JsonLimits.Readable(Parse(d.Body)), d.TimeCreated);

    /// <summary>The meaningful headers (rows archived before they were filtered still hold the client library's).</summary>
    private static JsonObject? HeadersOf(string? json)
    {
        if (json is null || Parse(Encoding.UTF8.GetBytes(json)) is not JsonObject headers)
        {
            return null;
        }

        foreach (var name in headers.Select(h => h.Key).Where(n => !DeadLetterHeaders.IsMeaningful(n)).ToList())
        {
            headers.Remove(name);
        }

        return JsonLimits.Readable(headers);
    }

    /// <summary>The body as JSON when it is JSON, else as the text it is (a malformed message shows what was sent).</summary>
    private static JsonNode? Parse(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return JsonValue.Create(Encoding.UTF8.GetString(body));
        }
    }
}

public sealed record DeadLetterListResponse([property: JsonPropertyName("dead_letter_list")] IReadOnlyList<DeadLetterDto> DeadLetterList);

public sealed record DeadLetterReplayResponse(
    [property: JsonPropertyName("replayed")] long Replayed,
    [property: JsonPropertyName("queue")] string Queue,
    [property: JsonPropertyName("reopened_action_run_id")] long? ReopenedActionRunId);

/// <summary>
/// Messages that could not be processed, with why: a project's (its keys), and the installation's, including those
/// that name no usable project (the admin token). Replaying one puts it back on its queue; discarding one deletes it.
/// </summary>
public static class DeadLetterEndpoints
{
    private const string Tag = "Dead letters";

    public static void MapDeadLetterEndpoints(this RouteGroupBuilder project)
    {
        project.MapGet("dead-letters", ListAsync).Requires(ApiKeyRole.Viewer).WithTags(Tag)
            .WithName("ListDeadLetters").WithSummary("Dead letters of the project, newest first: the queue, the reason, the headers and the message.");
        project.MapPost("dead-letters/{dead_letter_id:long}/replay", ReplayAsync).Requires(ApiKeyRole.Editor).WithTags(Tag)
            .WithName("ReplayDeadLetter")
            .WithSummary("Put a dead letter back on its queue. For a trigger whose run failed, the run is reopened and tried again.")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>The installation's dead letters, for the admin token: every project's and those with no project at all.</summary>
    public static void MapInstallationDeadLetterEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("dead-letters", ListAllAsync).AddEndpointFilter<InstallationAdminFilter>().WithTags(Tag)
            .WithName("ListInstallationDeadLetters")
            .WithSummary("Every dead letter of the installation, newest first, including messages that name no usable project (project_id null). Admin token only.")
            .ProducesProblem(StatusCodes.Status403Forbidden);
        api.MapPost("dead-letters/{dead_letter_id:long}/replay", ReplayAnyAsync).AddEndpointFilter<InstallationAdminFilter>().WithTags(Tag)
            .WithName("ReplayInstallationDeadLetter")
            .WithSummary("Put any dead letter back on its queue, as the project route does. Admin token only.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapDelete("dead-letters/{dead_letter_id:long}", DiscardAsync).AddEndpointFilter<InstallationAdminFilter>().WithTags(Tag)
            .WithName("DiscardDeadLetter").WithSummary("Delete a dead letter for good. Admin token only.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static Task<Results<Ok<DeadLetterListResponse>, ValidationProblem>> ListAsync(
        int? page, [FromQuery(Name = "page_size")] int? pageSize, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts,
        CancellationToken cancellationToken) =>
        QueryAsync(page, pageSize, project.Id, contexts, cancellationToken);

    private static Task<Results<Ok<DeadLetterListResponse>, ValidationProblem>> ListAllAsync(
        int? page, [FromQuery(Name = "page_size")] int? pageSize, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken) =>
        QueryAsync(page, pageSize, projectId: null, contexts, cancellationToken);

    private static async Task<Results<Ok<DeadLetterListResponse>, ValidationProblem>> QueryAsync(
        int? page, int? pageSize, long? projectId, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var paging = Paging.Read(page, pageSize, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var query = db.DeadLetters.AsNoTracking();
        if (projectId is { } id)
        {
            query = query.Where(d => d.ProjectId == id);
        }

        var letters = await query.OrderByDescending(d => d.Id).Skip(paging.Skip).Take(paging.PageSize).ToListAsync(cancellationToken);
        return TypedResults.Ok(new DeadLetterListResponse(letters.Select(DeadLetterDto.From).ToList()));
    }

    private static async Task<Results<Accepted<DeadLetterReplayResponse>, ProblemHttpResult>> ReplayAsync(
        [FromRoute(Name = "dead_letter_id")] long deadLetterId, ProjectContext project, IRunControl control, TimeProvider time, CancellationToken cancellationToken)
    {
        var replayed = await control.ReplayDeadLetterAsync(project.Id, deadLetterId, time.GetUtcNow().UtcDateTime, cancellationToken);
        return replayed.Found
            ? TypedResults.Accepted((string?)null, new DeadLetterReplayResponse(deadLetterId, replayed.Queue, replayed.ReopenedRunId))
            : Problems.NotFound("Dead letter", deadLetterId);
    }

    private static async Task<Results<Accepted<DeadLetterReplayResponse>, ProblemHttpResult>> ReplayAnyAsync(
        [FromRoute(Name = "dead_letter_id")] long deadLetterId, IRunControl control, TimeProvider time, CancellationToken cancellationToken)
    {
        var replayed = await control.ReplayDeadLetterAsync(null, deadLetterId, time.GetUtcNow().UtcDateTime, cancellationToken);
        return replayed.Found
            ? TypedResults.Accepted((string?)null, new DeadLetterReplayResponse(deadLetterId, replayed.Queue, replayed.ReopenedRunId))
            : Problems.NotFound($"Dead letter {deadLetterId} was not found.");
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DiscardAsync(
        [FromRoute(Name = "dead_letter_id")] long deadLetterId, IDbContextFactory<ActionflowDbContext> contexts, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var deleted = await db.DeadLetters.Where(d => d.Id == deadLetterId).ExecuteDeleteAsync(cancellationToken);
        return deleted == 0 ? Problems.NotFound($"Dead letter {deadLetterId} was not found.") : TypedResults.NoContent();
    }
}
