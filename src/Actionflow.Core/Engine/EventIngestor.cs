using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Engine;

public sealed record IngestResult(Event Event, bool Inserted, int TriggeredSteps);

/// <summary>Records an event and, in the same transaction, the triggers of the steps it starts.</summary>
public sealed class EventIngestor(TriggerIndex index, IPipelineStore store, IOutboxSignal signal, ILogger<EventIngestor> logger)
{
    public async Task<IngestResult> IngestAsync(Event ev, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        await index.WaitReadyAsync(cancellationToken);
        var matches = index.MatchSteps(ev);
        var (saved, inserted) = await store.AcceptEventAsync(ev, matches, cancellationToken);
        if (!inserted)
        {
            Log.EventDuplicate(logger, saved.Id);
            return new IngestResult(saved, false, 0);
        }

        if (matches.Count > 0)
        {
            signal.Notify(QueueNames.ActionTriggers);
        }

        Log.EventAccepted(logger, saved.Id, saved.Kind, saved.ProjectId, matches.Count);
        return new IngestResult(saved, true, matches.Count);
    }
}
