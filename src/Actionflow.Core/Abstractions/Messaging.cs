namespace Actionflow.Core.Abstractions;

/// <summary>The two queues of the pipeline, by role. Transports map them to physical names.</summary>
public static class QueueNames
{
    /// <summary>New events (Diffgram's <c>event.new</c>).</summary>
    public const string Events = "events";

    /// <summary>Action triggers: one message per (event, action) (Diffgram's <c>actions.triggers</c>).</summary>
    public const string ActionTriggers = "actions";

    /// <summary>RabbitMQ's dead-letter queue, which Actionflow archives into its database to list and replay.</summary>
    public const string DeadLetters = "dead-letters";
}

/// <summary>Header names Actionflow writes on messages.</summary>
public static class MessageHeaders
{
    public const string DeadLetterReason = "x-actionflow-reason";
    public const string ExceptionType = "x-actionflow-exception-type";
    public const string OriginalQueue = "x-actionflow-original-queue";
    public const string Deliveries = "x-actionflow-deliveries";
    public const string EventId = "x-actionflow-event-id";
    public const string ActionId = "x-actionflow-action-id";
    public const string Attempts = "x-actionflow-attempts";
}

/// <summary>A delivered message, whatever the transport.</summary>
/// <param name="Queue">The logical queue it came from.</param>
/// <param name="Body">The raw body; it may be the transport's own buffer, valid until the handler's task completes: a handler copies what it keeps.</param>
/// <param name="Headers">String headers (others are dropped).</param>
/// <param name="Redelivered">True when the broker delivered it before.</param>
/// <param name="DeliveryCount">Deliveries so far including this one, when the transport knows it; else 1.</param>
public sealed record IncomingMessage(string Queue, ReadOnlyMemory<byte> Body, IReadOnlyDictionary<string, string> Headers, bool Redelivered, int DeliveryCount)
{
    /// <summary>
    /// Set when the transport lets the handler's own transaction remove the message (the embedded queue): the write
    /// that makes the message's work durable deletes it too, and the transport then has nothing left to settle.
    /// </summary>
    public QueueReceipt? Receipt { get; init; }
}

/// <summary>
/// A delivered message as a row of the embedded queue, which the write that records the message's work may delete in
/// its own transaction (<see cref="IPipelineStore.AcceptEventAsync(Domain.Event, IReadOnlyList{MatchedStep}, QueueReceipt?, CancellationToken)"/>).
/// Once that transaction committed, <see cref="Consumed"/> is true: the ack, a redelivery or a dead letter would be
/// wrong (the work is durable and the row gone), so the transport settles nothing. Until then the row stays leased, and a
/// crash or a rolled-back write leaves it to be delivered again.
/// </summary>
/// <param name="RowId">The queue row (<c>outbox_messages.id</c>).</param>
public sealed class QueueReceipt(long rowId)
{
    private volatile bool _consumed;

    public long RowId { get; } = rowId;

    /// <summary>True once a committed transaction deleted the row.</summary>
    public bool Consumed => _consumed;

    /// <summary>Called by the store after the transaction that deleted the row committed.</summary>
    public void MarkConsumed() => _consumed = true;
}

public enum VerdictKind
{
    /// <summary>Done (or nothing to do): the message can go.</summary>
    Done,
    /// <summary>Not now: deliver it again after <see cref="Verdict.After"/>.</summary>
    RetryAfter,
    /// <summary>Can never be processed: park it in the dead letters with <see cref="Verdict.Reason"/>.</summary>
    DeadLetter,
}

/// <summary>
/// What the engine decided about a message, in its own terms; the transports' shared settlement turns it into an ack,
/// a delayed redelivery or a dead letter. Infrastructure failures are not verdicts: a handler throws, and the
/// transport redelivers with backoff (the second retry layer, beside a step's own retry policy).
/// </summary>
/// <param name="Headers">Extra headers for the dead letter (e.g. event and action ids, attempts).</param>
public sealed record Verdict(
    VerdictKind Kind,
    string? Reason = null,
    string? ExceptionType = null,
    TimeSpan After = default,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    public static Verdict Done { get; } = new(VerdictKind.Done);

    public static Verdict DeadLetter(string reason, string? exceptionType = null, IReadOnlyDictionary<string, string>? headers = null) =>
        new(VerdictKind.DeadLetter, reason, exceptionType, default, headers);

    public static Verdict Retry(TimeSpan after, string reason) => new(VerdictKind.RetryAfter, reason, null, after);
}

/// <summary>
/// Handles messages of one logical queue. Transports call it with bounded concurrency and settle the message from
/// its <see cref="Verdict"/>: only after the handler returned (its work durable) is a message acked. An exception
/// thrown by a handler means "try again later"; an <see cref="OperationCanceledException"/> on shutdown returns the message.
/// </summary>
public interface IMessageHandler
{
    string Queue { get; }

    ValueTask<Verdict> HandleAsync(IncomingMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// Publishes a message to a logical queue right away (confirmed by the transport before it returns). Used to feed
/// events in as an outside publisher would; engine state changes go through the outbox instead.
/// </summary>
public interface IMessagePublisher
{
    Task PublishAsync(string queue, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken);
}

/// <summary>Wakes the outbox relay (or the embedded consumers) after a commit that wrote outbox rows.</summary>
public interface IOutboxSignal
{
    void Notify(string queue);

    /// <summary>Waits for a notification for <paramref name="queue"/>, or the timeout.</summary>
    Task WaitAsync(string queue, TimeSpan timeout, CancellationToken cancellationToken);
}
