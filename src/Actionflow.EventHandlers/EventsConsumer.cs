using System.Runtime.CompilerServices;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Microsoft.Extensions.Logging;

namespace Actionflow.EventHandlers;

/// <summary>
/// Consumes <c>event.new</c>: accepts Diffgram's event JSON as it is, records the event and the runs of the steps it
/// starts in one transaction, runs those recorded for this worker (and the chains they continue), then acks. A body
/// that is not an event is dead-lettered with the reason.
/// </summary>
public sealed partial class EventsConsumer(EventIngestor ingestor, ChainRunner chain, TimeProvider time, ILogger<EventsConsumer> logger) : IMessageHandler
{
    public string Queue => QueueNames.Events;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Verdict> HandleAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var ev = DiffgramEventCodec.TryParse(message.Body.Span, time.GetUtcNow().UtcDateTime, out var error);
        if (ev is null)
        {
            LogRejected(logger, message.Body.Length, error!);
            return Verdict.DeadLetter(error!);
        }

        // On the embedded queue the accept deletes the message's row in its own transaction (no separate ack write).
        var result = await ingestor.IngestAsync(ev, StepPlacement.ThisWorker, message.Receipt, cancellationToken);
        // The event is durable; so are the held runs: whatever happens to them below, acking loses nothing.
        await chain.RunAsync(result.Event, result.HeldRuns, cancellationToken);
        return Verdict.Done;
    }

    [LoggerMessage(2100, LogLevel.Warning, "Rejected an event message of {Bytes} bytes: {Reason}")]
    private static partial void LogRejected(ILogger logger, int bytes, string reason);
}
