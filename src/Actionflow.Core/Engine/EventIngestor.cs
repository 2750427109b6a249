using System.Runtime.CompilerServices;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.Extensions.Logging;

namespace Actionflow.Core.Engine;

/// <param name="HeldRuns">The runs recorded held by this worker, for the caller to run (<see cref="ChainRunner.RunAsync"/>).</param>
public readonly record struct IngestResult(Event Event, bool Inserted, int TriggeredSteps, IReadOnlyList<ActionRun> HeldRuns);

/// <summary>Records an event and, in the same transaction, the runs and triggers of the steps it starts.</summary>
public sealed class EventIngestor(TriggerIndex index, IPipelineStore store, HeldSteps held, IOutboxSignal signal, ILogger<EventIngestor> logger)
{
    /// <summary>
    /// Records the event. With <see cref="StepPlacement.ThisWorker"/>, up to <see cref="EngineOptions.InProcessSteps"/> of the
    /// steps it starts are recorded held by this worker and returned, and the caller must run them.
    /// </summary>
    public ValueTask<IngestResult> IngestAsync(Event ev, StepPlacement placement, CancellationToken cancellationToken) =>
        IngestAsync(ev, placement, null, cancellationToken);

    /// <summary>
    /// As <see cref="IngestAsync(Event, StepPlacement, CancellationToken)"/>, for an event delivered as
    /// <paramref name="receipt"/>: the store may delete its queue row in the transaction that records it (then the
    /// receipt is <see cref="QueueReceipt.Consumed"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<IngestResult> IngestAsync(Event ev, StepPlacement placement, QueueReceipt? receipt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        await index.WaitReadyAsync(cancellationToken);
        var matches = index.MatchSteps(ev);
        var steps = placement == StepPlacement.ThisWorker ? held.Hold(matches) : matches;
        var accepted = await store.AcceptEventAsync(ev, steps, receipt, cancellationToken);
        var saved = accepted.Event;
        if (!accepted.Inserted)
        {
            Log.EventDuplicate(logger, saved.Id);
            return new IngestResult(saved, false, 0, []);
        }

        signal.NotifyRecorded(matches, accepted.HeldRuns.Count);

        Log.EventAccepted(logger, saved.Id, saved.Kind, saved.ProjectId, matches.Count);
        return new IngestResult(saved, true, matches.Count, accepted.HeldRuns);
    }
}
