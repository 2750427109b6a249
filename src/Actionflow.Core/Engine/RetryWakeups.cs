using Actionflow.Core.Abstractions;

namespace Actionflow.Core.Engine;

/// <summary>
/// Wakes the relay (or the embedded consumers) when a delayed retry falls due. Only a wake-up: the retry itself is
/// a hidden outbox row in the database, so it survives a restart, and every worker also polls for due rows.
/// </summary>
public sealed class RetryWakeups(IOutboxSignal signal, TimeProvider time) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly HashSet<ITimer> _timers = [];
    private bool _disposed;

    public void At(string queue, DateTime dueUtc)
    {
        // Timers have millisecond resolution and may fire a hair early; a row not yet due would then wait for the next poll.
        var delay = dueUtc - time.GetUtcNow().UtcDateTime + TimeSpan.FromMilliseconds(5);
        if (delay <= TimeSpan.Zero)
        {
            signal.Notify(queue);
            return;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            ITimer? timer = null;
            timer = time.CreateTimer(_ =>
            {
                signal.Notify(queue);
                lock (_gate)
                {
                    _timers.Remove(timer!);
                }

                timer!.Dispose();
            }, null, delay, Timeout.InfiniteTimeSpan);
            _timers.Add(timer);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var timer in _timers)
            {
                timer.Dispose();
            }

            _timers.Clear();
        }
    }
}
