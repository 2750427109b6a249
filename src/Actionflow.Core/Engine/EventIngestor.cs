using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Engine;

/// <param name="HeldRuns">The runs recorded held by this worker, for the caller to run (<see cref="RunCoordinator.RunHeldAsync"/>).</param>
public sealed record IngestResult(Event Event, bool Inserted, int TriggeredSteps, IReadOnlyList<ActionRun> HeldRuns);

/// <summary>Records an event and, in the same transaction, the runs and triggers of the steps it starts.</summary>
public sealed class EventIngestor(TriggerIndex index, IPipelineStore store, RunCoordinator coordinator, IOutboxSignal signal, ILogger<EventIngestor> logger)
{
    /// <summary>Records the event; every step it starts goes through the actions queue.</summary>
    public Task<IngestResult> IngestAsync(Event ev, CancellationToken cancellationToken) => IngestAsync(ev, runHere: false, cancellationToken);

    /// <summary>
    /// Records the event. With <paramref name="runHere"/>, up to <see cref="EngineOptions.InProcessSteps"/> of the steps
    /// it starts are recorded held by this worker and returned, and the caller must run them.
    /// </summary>
    public async Task<IngestResult> IngestAsync(Event ev, bool runHere, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        await index.WaitReadyAsync(cancellationToken);
        var matches = index.MatchSteps(ev);
        var accepted = await store.AcceptEventAsync(ev, runHere ? coordinator.RunHere(matches) : matches, cancellationToken);
        var saved = accepted.Event;
        if (!accepted.Inserted)
        {
            Log.EventDuplicate(logger, saved.Id);
            return new IngestResult(saved, false, 0, []);
        }

        if (matches.Count > accepted.HeldRuns.Count)
        {
            signal.Notify(QueueNames.ActionTriggers);
        }

        Log.EventAccepted(logger, saved.Id, saved.Kind, saved.ProjectId, matches.Count);
        return new IngestResult(saved, true, matches.Count, accepted.HeldRuns);
    }
}
