using System.Text.Json.Nodes;

namespace Actionflow.Core.Domain;

/// <summary>A recorded event, with Diffgram's fields; <see cref="Payload"/> keeps every key it came with.</summary>
public sealed class Event
{
    public long Id { get; set; }
    public long ProjectId { get; set; }
    public required string Kind { get; set; }
    public long? WorkflowId { get; set; }
    public long? ActionId { get; set; }
    public long? FileId { get; set; }
    public long? TaskId { get; set; }
    public long? JobId { get; set; }
    public long? DirectoryId { get; set; }
    public long? InputId { get; set; }
    public long? MemberId { get; set; }
    public string? Description { get; set; }
    public string? ErrorLog { get; set; }
    // Required rather than defaulted: a default would be a new object on every event, at once replaced by whoever creates it.
    public required JsonObject ExtraMetadata { get; set; }
    /// <summary>The message as received (unknown keys kept); for events Actionflow emits, the Diffgram-shaped message.</summary>
    public required JsonObject Payload { get; set; }
    /// <summary>Where the event came from: <c>amqp</c>, <c>api</c>, <c>engine</c>.</summary>
    public string Source { get; set; } = "amqp";
    /// <summary>Deduplication key: the sender's event id (Diffgram's <c>id</c>) or an API idempotency key.</summary>
    public string? DedupKey { get; set; }
    /// <summary>Set on events emitted by an action run, so the next step joins the same workflow run.</summary>
    public long? WorkflowRunId { get; set; }
    public DateTime TimeCreated { get; set; }
}
