using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Actionflow.Core.Domain;

/// <summary>A recorded event, with Diffgram's fields; <see cref="Payload"/> keeps every key it came with.</summary>
public sealed class Event
{
    private JsonObject? _payload;
    private ReadOnlyMemory<byte> _payloadUtf8;
    private JsonObject? _extraMetadata;
    private ReadOnlyMemory<byte> _extraMetadataUtf8;

    public Event()
    {
    }

#pragma warning disable CS8618 // The trees are not null: their getters build them from the bytes given here.
    /// <summary>
    /// An event read from a message body: <see cref="Payload"/> is the JSON object <paramref name="payloadUtf8"/> and
    /// <see cref="ExtraMetadata"/> the JSON object <paramref name="extraMetadataUtf8"/> (UTF-8, valid, owned by the
    /// event and never changed). Each tree is built only when something reads it; until then its bytes are what a
    /// writer stores (<see cref="TryGetPayloadUtf8"/>, <see cref="TryGetExtraMetadataUtf8"/>).
    /// </summary>
    [SetsRequiredMembers]
    internal Event(string kind, ReadOnlyMemory<byte> extraMetadataUtf8, ReadOnlyMemory<byte> payloadUtf8)
    {
        Kind = kind;
        _extraMetadataUtf8 = extraMetadataUtf8;
        _payloadUtf8 = payloadUtf8;
    }

    /// <summary>As the other constructor, with <see cref="ExtraMetadata"/> a tree already.</summary>
    [SetsRequiredMembers]
    internal Event(string kind, JsonObject extraMetadata, ReadOnlyMemory<byte> payloadUtf8)
    {
        Kind = kind;
        _extraMetadata = extraMetadata;
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
    public required JsonObject ExtraMetadata
    {
        get => Volatile.Read(ref _extraMetadata) ?? Built(ref _extraMetadata, _extraMetadataUtf8);
        set
        {
            _extraMetadata = value;
            _extraMetadataUtf8 = default;
        }
    }

    /// <summary>The message as received (unknown keys kept); for events Actionflow emits, the Diffgram-shaped message.</summary>
    public required JsonObject Payload
    {
        get => Volatile.Read(ref _payload) ?? Built(ref _payload, _payloadUtf8);
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
    public bool TryGetPayloadUtf8(out ReadOnlyMemory<byte> utf8) => AsReceived(Volatile.Read(ref _payload), _payloadUtf8, out utf8);

    /// <summary>As <see cref="TryGetPayloadUtf8"/>, for <see cref="ExtraMetadata"/>.</summary>
    public bool TryGetExtraMetadataUtf8(out ReadOnlyMemory<byte> utf8) => AsReceived(Volatile.Read(ref _extraMetadata), _extraMetadataUtf8, out utf8);

    private static bool AsReceived(JsonObject? tree, ReadOnlyMemory<byte> received, out ReadOnlyMemory<byte> utf8)
    {
        utf8 = received;
        return tree is null && !received.IsEmpty;
    }

    private static JsonObject Built(ref JsonObject? target, ReadOnlyMemory<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            throw new InvalidOperationException("the event's JSON was never set");
        }

        // Over the event's own bytes, not a copy of them. The document's table is rented and is not given back: it goes
        // to the collector with the tree, as the tree lives as long as the event that reads it.
        var built = JsonObject.Create(JsonDocument.Parse(utf8).RootElement)!;
        // Readers on several threads all get the one tree that won, so that a change made through it is not lost.
        return Interlocked.CompareExchange(ref target, built, null) ?? built;
    }
}
