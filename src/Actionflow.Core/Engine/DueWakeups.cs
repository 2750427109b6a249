using Actionflow.Core.Abstractions;

namespace Actionflow.Core.Engine;

/// <summary>
/// Wakes the relay (or the embedded consumers) when a hidden outbox row falls due: a delayed retry, the end of a wait,
/// a delayed redelivery. Only a wake-up: the row itself is in the database, so it survives a restart. One timer per
/// queue, armed for the earliest due time this process was told of, so ten thousand waiting runs cost one timer, not
/// ten thousand. A later time told meanwhile is not kept: the poller asks the store for the next due row after every
/// pass that found nothing (<see cref="IOutboxStore.NextDueAsync"/>, <see cref="IEmbeddedQueueStore.NextDueAsync"/>)
/// and sleeps until then; this only brings a wake-up forward.
/// </summary>
public sealed class DueWakeups : IDisposable
{
    // Timers have millisecond resolution and may fire a hair early; a row not yet due would then wait for the next poll.
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(5);

    private readonly IOutboxSignal _signal;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Armed> _armed = new(StringComparer.Ordinal);
    private bool _disposed;

    public DueWakeups(IOutboxSignal signal, TimeProvider time)
    {
        _signal = signal;
        _time = time;
    }

    /// <summary>Wakes the consumers of <paramref name="queue"/> at <paramref name="dueUtc"/> (at once when it has passed).</summary>
    public void At(string queue, DateTime dueUtc)
    {
        var delay = dueUtc - _time.GetUtcNow().UtcDateTime + Margin;
        if (delay <= TimeSpan.Zero)
        {
            _signal.Notify(queue);
            return;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (!_armed.TryGetValue(queue, out var armed))
            {
                armed = new Armed(this, queue);
                _armed[queue] = armed;
            }

            if (dueUtc < armed.Due)
            {
                armed.Due = dueUtc;
                armed.Timer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var armed in _armed.Values)
            {
                armed.Timer.Dispose();
            }

            _armed.Clear();
        }
    }

    private void Fire(Armed armed)
    {
        lock (_gate)
        {
            // Re-armed for an earlier time after this callback was queued: that time is the one to keep.
            if (armed.Due > _time.GetUtcNow().UtcDateTime + Margin)
            {
                return;
            }

            armed.Due = DateTime.MaxValue;
        }

        _signal.Notify(armed.Queue);
    }

    private sealed class Armed
    {
        public Armed(DueWakeups owner, string queue)
        {
            Queue = queue;
            Timer = owner._time.CreateTimer(state => owner.Fire((Armed)state!), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public string Queue { get; }

        public ITimer Timer { get; }

        public DateTime Due { get; set; } = DateTime.MaxValue;
    }
}
