using System.Collections.Concurrent;
using Actionflow.Core.Abstractions;

namespace Actionflow.Core.Engine;

/// <summary>The wake-ups a recorded write calls for.</summary>
public static class OutboxSignals
{
    /// <summary>
    /// After <paramref name="steps"/> were recorded, <paramref name="heldRuns"/> of them held by this worker: wakes the relay
    /// (or the embedded consumers) when some got a trigger to deliver, and the window processor when some went into a window.
    /// </summary>
    public static void NotifyRecorded(this IOutboxSignal signal, IReadOnlyList<MatchedStep> steps, int heldRuns)
    {
        ArgumentNullException.ThrowIfNull(signal);
        ArgumentNullException.ThrowIfNull(steps);
        // By index: a LINQ count over the interface would box an enumerator on every event.
        var windowed = 0;
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i].Windowed)
            {
                windowed++;
            }
        }

        if (steps.Count - windowed > heldRuns)
        {
            signal.Notify(QueueNames.ActionTriggers);
        }

        if (windowed > 0)
        {
            signal.Notify(Scheduling.WindowProcessor.Signal);
        }
    }
}

/// <summary>In-process wake-up per queue; a lost signal only costs one poll interval.</summary>
public sealed class OutboxSignal : IOutboxSignal
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _signals = new(StringComparer.Ordinal);

    public void Notify(string queue)
    {
        var signal = Get(queue);
        if (signal.CurrentCount == 0)
        {
            try
            {
                signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another notifier got there first; one pending wake-up is enough.
            }
        }
    }

    public async Task WaitAsync(string queue, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Get(queue).WaitAsync(timeout, cancellationToken);
    }

    private SemaphoreSlim Get(string queue) => _signals.GetOrAdd(queue, _ => new SemaphoreSlim(0, 1));
}
