using Actionflow.Core.Abstractions;
using Actionflow.Core.Engine;
using Microsoft.Extensions.Logging;

namespace Actionflow.EventHandlers;

/// <summary>
/// Consumes <c>event.new</c>: accepts Diffgram's event JSON as it is, records the event and the runs of the steps it
/// starts in one transaction, runs those recorded for this worker (and the chains they continue), then acks. A body
/// that is not an event is dead-lettered with the reason.
/// </summary>
public sealed partial class EventsConsumer(EventIngestor ingestor, RunCoordinator coordinator, TimeProvider time, ILogger<EventsConsumer> logger) : IMessageHandler
{
    public string Queue => QueueNames.Events;

    public async Task<HandlingOutcome> HandleAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var ev = DiffgramEventCodec.TryParse(message.Body.Span, time.GetUtcNow().UtcDateTime, out var error);
        if (ev is null)
        {
            LogRejected(logger, message.Body.Length, error!);
            return HandlingOutcome.DeadLetter(error!);
        }

        var result = await ingestor.IngestAsync(ev, runHere: true, cancellationToken);
        // The event is durable; so are the held runs: whatever happens to them below, acking loses nothing.
        await coordinator.RunHeldAsync(result.Event, result.HeldRuns, cancellationToken);
        return HandlingOutcome.Ack;
    }

    [LoggerMessage(2001, LogLevel.Warning, "Rejected an event message of {Bytes} bytes: {Reason}")]
    private static partial void LogRejected(ILogger logger, int bytes, string reason);
}
