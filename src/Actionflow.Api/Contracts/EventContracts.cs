using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Json;

namespace Actionflow.Api.Contracts;

/// <summary>
/// Body of <c>POST events</c>: an event in Diffgram's terms. The project is the one in the path. The same
/// <c>idempotency_key</c> twice in a project returns the first event and runs nothing again.
/// </summary>
public sealed record EmitEventRequest(
    string? Kind,
    long? WorkflowId,
    long? ActionId,
    long? FileId,
    long? TaskId,
    long? JobId,
    long? DirectoryId,
    long? InputId,
    long? MemberId,
    string? Description,
    JsonObject? ExtraMetadata,
    string? IdempotencyKey);

public sealed record EventDto(
    long Id,
    string Kind,
    long ProjectId,
    long? WorkflowId,
    long? ActionId,
    long? FileId,
    long? TaskId,
    long? JobId,
    long? DirectoryId,
    long? InputId,
    long? MemberId,
    string? Description,
    string? ErrorLog,
    JsonObject ExtraMetadata,
    string Source,
    string? IdempotencyKey,
    long? WorkflowRunId,
    DateTime TimeCreated)
{
    public const string IdempotencyPrefix = "api:";

    public static EventDto From(Event e) =>
        new(e.Id, e.Kind, e.ProjectId, e.WorkflowId, e.ActionId, e.FileId, e.TaskId, e.JobId, e.DirectoryId, e.InputId, e.MemberId,
            e.Description, e.ErrorLog, JsonLimits.Readable(e.ExtraMetadata), e.Source,
            e.DedupKey is { } key && key.StartsWith(IdempotencyPrefix, StringComparison.Ordinal) ? key[IdempotencyPrefix.Length..] : null,
            e.WorkflowRunId, e.TimeCreated);
}

/// <summary>
/// An accepted event: recorded, with the triggers of the steps it starts, before this answer. <c>duplicate</c>: the
/// idempotency key was seen before and this is the first event (nothing was triggered again).
/// </summary>
public sealed record EventAcceptedResponse(EventDto Event, int TriggeredSteps, bool Duplicate);

public sealed record EventListResponse(IReadOnlyList<EventDto> EventList);
