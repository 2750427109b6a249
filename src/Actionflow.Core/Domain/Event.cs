using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Actionflow.Core.Domain;

/// <summary>A recorded event, with Diffgram's fields; <see cref="Payload"/> keeps every key it came with.</summary>
public sealed class Event
{
    private JsonObject? _payload;
    private ReadOnlyMemory<byte> _payloadUtf8;

    public Event()
    {
    }

    /// <summary>
    /// An event whose <see cref="Payload"/> is the JSON object <paramref name="payloadUtf8"/> (UTF-8, valid, owned by the
    /// event and never changed): a message body as it was received. The tree is built only when something reads
    /// <see cref="Payload"/>; until then the bytes are what a writer stores (<see cref="TryGetPayloadUtf8"/>).
    /// </summary>
    [SetsRequiredMembers]
#pragma warning disable CS8618 // Payload is not null: its getter builds it from the bytes given here.
    internal Event(string kind, JsonObject extraMetadata, ReadOnlyMemory<byte> payloadUtf8)
    {
        Kind = kind;
        ExtraMetadata = extraMetadata;
        _payloadUtf8 = payloadUtf8;
    }
#pragma warning restore CS8618

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
    public required JsonObject Payload
    {
        get => Volatile.Read(ref _payload) ?? PayloadFromUtf8();
        set
        {
            _payload = value;
            _payloadUtf8 = default;
        }
    }

    /// <summary>Where the event came from: <c>amqp</c>, <c>api</c>, <c>engine</c>.</summary>
    public string Source { get; set; } = "amqp";
    /// <summary>Deduplication key: the sender's event id (Diffgram's <c>id</c>) or an API idempotency key.</summary>
    public string? DedupKey { get; set; }
    /// <summary>Set on events emitted by an action run, so the next step joins the same workflow run.</summary>
    public long? WorkflowRunId { get; set; }
    public DateTime TimeCreated { get; set; }

    /// <summary>
    /// The payload as the UTF-8 JSON it was received as, while nothing has read <see cref="Payload"/> (which could then
    /// have been changed): a writer stores these bytes as they are, with no tree built and written out again.
    /// </summary>
    public bool TryGetPayloadUtf8(out ReadOnlyMemory<byte> utf8)
    {
        utf8 = _payloadUtf8;
        return Volatile.Read(ref _payload) is null && !utf8.IsEmpty;
    }

    private JsonObject PayloadFromUtf8()
    {
        if (_payloadUtf8.IsEmpty)
        {
            throw new InvalidOperationException("the event's payload was never set");
        }

        // Over the event's own bytes, not a copy of them. The document's table is rented and is not given back: it goes
        // to the collector with the tree, as the tree lives as long as the event that reads it.
        var built = JsonObject.Create(JsonDocument.Parse(_payloadUtf8).RootElement)!;
        // Readers on several threads all get the one tree that won, so that a change made through it is not lost.
        return Interlocked.CompareExchange(ref _payload, built, null) ?? built;
    }
}
