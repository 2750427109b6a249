using System.Collections.Concurrent;
using Actionflow.Core.Abstractions;

namespace Actionflow.Core.Engine;

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
