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
    [property: JsonPropertyName("queue")] string Queue,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("exception_type")] string? ExceptionType,
    [property: JsonPropertyName("deliveries")] int Deliveries,
    [property: JsonPropertyName("headers")] JsonNode? Headers,
    [property: JsonPropertyName("body")] JsonNode? Body,
    [property: JsonPropertyName("time_created")] DateTime TimeCreated)
{
    public static DeadLetterDto From(DeadLetter d) => new(d.Id, d.Queue, d.Reason, d.ExceptionType, d.Deliveries,
        d.Headers is null ? null : JsonLimits.Readable(Parse(Encoding.UTF8.GetBytes(d.Headers))), JsonLimits.Readable(Parse(d.Body)), d.TimeCreated);

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

/// <summary>Messages that could not be processed, with why; replaying one puts it back on its queue.</summary>
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

    private static async Task<Results<Ok<DeadLetterListResponse>, ValidationProblem>> ListAsync(
        int? page, [FromQuery(Name = "page_size")] int? pageSize, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts,
        CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        var paging = Paging.Read(page, pageSize, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var letters = await db.DeadLetters.AsNoTracking()
            .Where(d => d.ProjectId == project.Id)
            .OrderByDescending(d => d.Id)
            .Skip(paging.Skip).Take(paging.PageSize)
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new DeadLetterListResponse(letters.Select(DeadLetterDto.From).ToList()));
    }

    private static async Task<Results<Accepted<DeadLetterReplayResponse>, ProblemHttpResult>> ReplayAsync(
        [FromRoute(Name = "dead_letter_id")] long deadLetterId, ProjectContext project, IDbContextFactory<ActionflowDbContext> contexts,
        IOutboxSignal signal, TimeProvider time, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var letter = await db.DeadLetters.FirstOrDefaultAsync(d => d.Id == deadLetterId && d.ProjectId == project.Id, cancellationToken);
        if (letter is null)
        {
            return Problems.NotFound("Dead letter", deadLetterId);
        }

        var now = time.GetUtcNow().UtcDateTime;
        long? reopened = null;
        if (letter.Queue == QueueNames.ActionTriggers && TriggerMessage.TryParse(letter.Body, out _) is { } trigger)
        {
            // A trigger of a run that ended failed would be acknowledged as already done: reopen the run first.
            var run = await db.ActionRuns.FirstOrDefaultAsync(
                r => r.EventId == trigger.EventId && r.ActionId == trigger.ActionId && r.ProjectId == project.Id, cancellationToken);
            if (run is { Status: ActionRunStatus.Failed })
            {
                run.Status = ActionRunStatus.Pending;
                run.ErrorReason = null;
                run.ErrorType = null;
                run.FinishedAt = null;
                await db.WorkflowRuns.Where(w => w.Id == run.WorkflowRunId && w.Status == WorkflowRunStatus.Failed)
                    .ExecuteUpdateAsync(s => s.SetProperty(w => w.Status, WorkflowRunStatus.Running).SetProperty(w => w.TimeUpdated, now), cancellationToken);
                reopened = run.Id;
            }
        }

        db.OutboxMessages.Add(new OutboxMessage { Queue = letter.Queue, Body = letter.Body, TimeCreated = now });
        db.DeadLetters.Remove(letter);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        signal.Notify(letter.Queue);
        return TypedResults.Accepted((string?)null, new DeadLetterReplayResponse(deadLetterId, letter.Queue, reopened));
    }
}
